"""Loading export-regime snapshots: parse, resolve `extends:`, check, and select by date.

A snapshot is one jurisdiction's complete rule set in force from `effective` until `end` (or,
without `end`, until the jurisdiction's next snapshot). A child snapshot inherits its parent's
origin, country groups, classification and controls; its own controls come first (so they take
precedence), a control with a parent's id replaces it, and `remove_controls` drops inherited ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType

from planner.cache import cached
from planner.errors import InputError, Problem, UnknownName
from planner.paths import search_dirs
from planner.provenance import Confidence, Source, resolve_source
from planner.rules.schema import (
    BucketIn,
    CapIn,
    ConditionIn,
    ControlIn,
    ControlKind,
    RegimeFile,
    ReviewPolicy,
    Status,
)
from planner.units import parse_quantity
from planner.yamlio import read_yaml, validate


@dataclass(frozen=True)
class Condition:
    """Tests on a part, with bandwidths already in B/s. `None` fields are not tested."""

    tpp_min: float | None = None
    tpp_below: float | None = None
    performance_density_min: float | None = None
    performance_density_below: float | None = None
    aggregate_io_min_bytes_per_s: float | None = None
    memory_bandwidth_min_bytes_per_s: float | None = None
    memory_bandwidth_below_bytes_per_s: float | None = None
    scale_up_bandwidth_min_bytes_per_s: float | None = None
    datacenter: bool | None = None
    hbm: bool | None = None
    eccn: tuple[str | None, ...] | None = None
    parts: tuple[str, ...] | None = None
    not_parts: tuple[str, ...] | None = None
    designed_in: tuple[str, ...] | None = None
    domestic: bool | None = None
    any_of: tuple[Condition, ...] | None = None


@dataclass(frozen=True)
class Buyers:
    """Buyer countries a control reaches; empty `countries` and `groups` = every country."""

    countries: frozenset[str] = frozenset()
    groups: tuple[str, ...] = ()
    except_countries: frozenset[str] = frozenset()
    except_groups: tuple[str, ...] = ()
    headquarters: bool = False  # also reaches buyers headquartered there, wherever located


@dataclass(frozen=True)
class Cap:
    """A quantity limit (TPP allocation, per-customer exemption, volume share) with provenance."""

    kind: str
    value: float | None
    period: str | None
    confidence: Confidence
    note: str | None
    sources: tuple[Source, ...]
    first_year: int | None = None  # years covered, inclusive (None: open)
    last_year: int | None = None
    cumulative: bool = False  # one allowance for the whole window, not one per year

    def covers(self, year: int) -> bool:
        """Whether the cap applies to purchases in this year."""
        return (self.first_year is None or year >= self.first_year) and (
            self.last_year is None or year <= self.last_year
        )


@dataclass(frozen=True)
class Bucket:
    """An ECCN bucket of a classification; parts land in the first bucket whose test holds."""

    eccn: str
    when: Condition
    confidence: Confidence
    note: str | None
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Control:
    """One rule. `rule_id` is `<snapshot that wrote it>/<control id>`."""

    id: str
    snapshot: str
    title: str
    kind: ControlKind
    buyers: Buyers | None
    part: Condition
    origin: tuple[str, ...] | None
    state_funded_site: bool | None
    status: Status | None
    review_policy: ReviewPolicy | None
    revenue_share_fraction: float
    duty_fraction: float
    caps: tuple[Cap, ...]
    allowed: bool | None
    power_subsidy_fraction: float | None
    regions: tuple[str, ...]
    compliance_from: dt.date | None
    confidence: Confidence
    note: str | None
    sources: tuple[Source, ...]

    @property
    def rule_id(self) -> str:
        """The control's id within its snapshot: 'snapshot/control'."""
        return f"{self.snapshot}/{self.id}"


@dataclass(frozen=True)
class Regime:
    """One jurisdiction's rules in force from `effective` to `end` (exclusive), fully resolved."""

    id: str
    jurisdiction: str
    title: str
    effective: dt.date
    end: dt.date | None
    extends: str | None
    citation: str
    origin: tuple[str, ...] | None
    country_groups: Mapping[str, frozenset[str]]
    classification: tuple[Bucket, ...]
    controls: tuple[Control, ...]
    path: Path

    def in_force(self, date: dt.date) -> bool:
        """Whether the snapshot is in force on `date` (from `effective`, until `end` exclusive)."""
        return self.effective <= date and (self.end is None or date < self.end)

    def members(self, group: str) -> frozenset[str]:
        """The countries of a country group (none for an unknown group)."""
        return self.country_groups.get(group, frozenset())


class _Converter:
    """Turns one validated file into domain objects, collecting problems with their field."""

    def __init__(self, raw: RegimeFile, path: Path):
        self.raw, self.path = raw, path
        self.problems: list[Problem] = []

    def problem(self, field: str, text: str, fix: str) -> None:
        self.problems.append(Problem(str(self.path), field, text, fix))

    def sources(self, field: str, keys: list[str]) -> tuple[Source, ...]:
        out = []
        for key in keys:
            if key not in self.raw.sources and not key.startswith("http"):
                self.problem(
                    f"{field}.source",
                    f"'{key}' is neither a key of 'sources:' nor a URL.",
                    "add it to the file's 'sources:' table or write the URL.",
                )
            source = resolve_source(key, self.raw.sources)
            if source is not None:
                out.append(source)
        return tuple(out)

    def bandwidth(self, field: str, text: str | None) -> float | None:
        if text is None:
            return None
        try:
            return parse_quantity(text, "bytes_per_s", file=self.path, field=field)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def condition(self, field: str, c: ConditionIn) -> Condition:
        for name in ("tpp", "performance_density"):
            low, high = getattr(c, f"{name}_min"), getattr(c, f"{name}_below")
            if low is not None and high is not None and low >= high:
                self.problem(
                    f"{field}.{name}_min",
                    f"{name}_min {low:g} is not below {name}_below {high:g}.",
                    "an interval needs min < below.",
                )
        return Condition(
            tpp_min=c.tpp_min,
            tpp_below=c.tpp_below,
            performance_density_min=c.performance_density_min,
            performance_density_below=c.performance_density_below,
            aggregate_io_min_bytes_per_s=self.bandwidth(
                f"{field}.aggregate_io_bandwidth_min", c.aggregate_io_bandwidth_min
            ),
            memory_bandwidth_min_bytes_per_s=self.bandwidth(
                f"{field}.memory_bandwidth_min", c.memory_bandwidth_min
            ),
            memory_bandwidth_below_bytes_per_s=self.bandwidth(
                f"{field}.memory_bandwidth_below", c.memory_bandwidth_below
            ),
            scale_up_bandwidth_min_bytes_per_s=self.bandwidth(
                f"{field}.scale_up_bandwidth_min", c.scale_up_bandwidth_min
            ),
            datacenter=c.datacenter,
            hbm=c.hbm,
            eccn=None if c.eccn is None else tuple(c.eccn),
            parts=None if c.parts is None else tuple(c.parts),
            not_parts=None if c.not_parts is None else tuple(c.not_parts),
            designed_in=None if c.designed_in is None else tuple(c.designed_in),
            domestic=c.domestic,
            any_of=None
            if c.any_of is None
            else tuple(
                self.condition(f"{field}.any_of[{i}]", sub) for i, sub in enumerate(c.any_of)
            ),
        )

    def cap(self, field: str, c: CapIn) -> Cap:
        if c.value is None and not c.note:
            self.problem(f"{field}.value", "an unknown cap needs a note.", "add a 'note:'.")
        sources = self.sources(field, c.source_keys())
        return Cap(
            c.kind, c.value, c.period, c.confidence, c.note, sources,
            c.first_year, c.last_year, c.cumulative,
        )  # fmt: skip

    def bucket(self, field: str, b: BucketIn) -> Bucket:
        return Bucket(
            b.eccn,
            self.condition(f"{field}.when", b.when),
            b.confidence,
            b.note,
            self.sources(field, b.source_keys()),
        )

    def control(self, field: str, c: ControlIn) -> Control:
        self.check_control(field, c)
        buyers = None
        if c.buyers is not None:
            buyers = Buyers(
                frozenset(c.buyers.countries),
                tuple(c.buyers.groups),
                frozenset(c.buyers.except_countries),
                tuple(c.buyers.except_groups),
                c.buyers.headquarters,
            )
        return Control(
            id=c.id,
            snapshot=self.raw.id,
            title=c.title,
            kind=c.kind,
            buyers=buyers,
            part=self.condition(f"{field}.part", c.part),
            origin=None if c.origin is None else tuple(c.origin),
            state_funded_site=c.state_funded_site,
            status=c.status,
            review_policy=c.review_policy,
            revenue_share_fraction=c.revenue_share_fraction,
            duty_fraction=c.duty_fraction,
            caps=tuple(self.cap(f"{field}.caps[{i}]", cap) for i, cap in enumerate(c.caps)),
            allowed=c.allowed,
            power_subsidy_fraction=c.power_subsidy_fraction,
            regions=tuple(c.regions),
            compliance_from=c.compliance_from,
            confidence=c.confidence,
            note=c.note,
            sources=self.sources(field, c.source_keys()),
        )

    def check_control(self, field: str, c: ControlIn) -> None:
        """Each kind needs its own fields: a licence control a status, a subsidy a fraction."""
        if c.kind == "export_licence" and c.status is None:
            self.problem(
                f"{field}.status",
                "an export_licence control needs a status.",
                "write status: no_licence, notification or licence_required.",
            )
        if c.review_policy is not None and c.status != "licence_required":
            self.problem(
                f"{field}.review_policy",
                "a review policy only applies when a licence is required.",
                "remove review_policy or set status: licence_required.",
            )
        if c.kind == "buyer_restriction" and c.allowed is None:
            self.problem(
                f"{field}.allowed",
                "a buyer_restriction needs 'allowed'.",
                "write allowed: false (forbidden) or true.",
            )
        from planner.sites.schema import province_problem  # not needed to serve a kept library

        countries = c.buyers.countries if c.buyers is not None else []
        for i, region in enumerate(c.regions if len(countries) == 1 else []):
            problem = province_problem(countries[0], region)
            if problem is not None:
                self.problem(f"{field}.regions[{i}]", problem, "name the province as listed.")
        if c.kind == "power_subsidy" and c.power_subsidy_fraction is None:
            self.problem(
                f"{field}.power_subsidy_fraction",
                "a power_subsidy control needs its fraction.",
                "write e.g. power_subsidy_fraction: 0.5.",
            )


def _parse(path: Path) -> RegimeFile:
    raw = validate(RegimeFile, read_yaml(path), path)
    if path.stem != raw.id:
        raise InputError.one(
            path,
            "id",
            f"id '{raw.id}' differs from the file name '{path.stem}'.",
            f"rename the file to '{raw.id}.yaml' or change the id.",
        )
    return raw


def _resolve(raw: RegimeFile, path: Path, parent: Regime | None, problems: list[Problem]) -> Regime:
    """Build one snapshot on top of its (already resolved) parent."""
    conv = _Converter(raw, path)
    groups = dict(parent.country_groups) if parent else {}
    for name, group in raw.country_groups.items():
        conv.sources(f"country_groups.{name}", group.source_keys())
        groups[name] = frozenset(group.members)
    if raw.classification is not None:
        classification = tuple(
            conv.bucket(f"classification[{i}]", b) for i, b in enumerate(raw.classification)
        )
    else:
        classification = parent.classification if parent else ()
    own = [conv.control(f"controls[{i}]", c) for i, c in enumerate(raw.controls)]
    controls = _controls_in_force(conv, own, parent)
    _check_buyer_groups(conv, own, groups)
    _check_dates(conv, raw, parent)
    problems.extend(conv.problems)
    return Regime(
        id=raw.id,
        jurisdiction=raw.jurisdiction,
        title=raw.title,
        effective=raw.effective,
        end=raw.end,
        extends=raw.extends,
        citation=raw.citation,
        origin=tuple(raw.origin) if raw.origin is not None else (parent.origin if parent else None),
        country_groups=MappingProxyType(groups),
        classification=classification,
        controls=controls,
        path=path,
    )


def _controls_in_force(
    conv: _Converter, own: list[Control], parent: Regime | None
) -> tuple[Control, ...]:
    """This snapshot's own controls, then the parent's it neither replaces (same id) nor
    removes (`remove_controls`); an id twice or a removal of nothing inherited is a problem."""
    seen: set[str] = set()
    for i, c in enumerate(own):
        if c.id in seen:
            conv.problem(
                f"controls[{i}].id",
                f"control id '{c.id}' appears twice.",
                "give each control its own id.",
            )
        seen.add(c.id)
    inherited = list(parent.controls) if parent else []
    for i, gone in enumerate(conv.raw.remove_controls):
        if gone not in {c.id for c in inherited}:
            conv.problem(
                f"remove_controls[{i}]",
                f"no inherited control '{gone}'.",
                f"use one of: {', '.join(c.id for c in inherited) or '(none)'}.",
            )
    dropped = set(conv.raw.remove_controls) | seen
    return (*own, *(c for c in inherited if c.id not in dropped))


def _check_buyer_groups(
    conv: _Converter, own: list[Control], groups: Mapping[str, frozenset[str]]
) -> None:
    """Every country group a control's buyers name is defined here or inherited."""
    for i, c in enumerate(own):
        if c.buyers is None:
            continue
        for g in (*c.buyers.groups, *c.buyers.except_groups):
            if g not in groups:
                conv.problem(
                    f"controls[{i}].buyers",
                    f"unknown country group '{g}'.",
                    f"define it under country_groups or use one of: "
                    f"{', '.join(sorted(groups)) or '(none)'}.",
                )


def _check_dates(conv: _Converter, raw: RegimeFile, parent: Regime | None) -> None:
    """A snapshot ends after it starts and extends an earlier one of its own jurisdiction."""
    if raw.end is not None and raw.end <= raw.effective:
        conv.problem(
            "end",
            f"end {raw.end} is not after effective {raw.effective}.",
            "write an end date after the effective date, or leave it out.",
        )
    if parent is None:
        return
    if parent.jurisdiction != raw.jurisdiction:
        conv.problem(
            "extends",
            f"'{parent.id}' is a {parent.jurisdiction} snapshot.",
            f"extend a {raw.jurisdiction} snapshot.",
        )
    if parent.effective >= raw.effective:
        conv.problem(
            "effective",
            f"{raw.effective} is not after '{parent.id}' ({parent.effective}).",
            "a snapshot extends an earlier one.",
        )


def _with_implicit_ends(regimes: dict[str, Regime]) -> dict[str, Regime]:
    """A snapshot without `end` ends when its jurisdiction's next snapshot begins."""
    out = dict(regimes)
    by_jurisdiction: dict[str, list[Regime]] = {}
    for r in regimes.values():
        by_jurisdiction.setdefault(r.jurisdiction, []).append(r)
    for chain in by_jurisdiction.values():
        chain.sort(key=lambda r: r.effective)
        for this, following in pairwise(chain):
            if this.end is None:
                out[this.id] = replace(this, end=following.effective)
    return out


@dataclass(frozen=True)
class RegimeLibrary:
    """Every snapshot by id (shipped ones overridden by the user's overlays, by id)."""

    regimes: Mapping[str, Regime]

    @classmethod
    def load(cls, overlays: Sequence[Path] = ()) -> RegimeLibrary:
        """Read `export_regimes/*.yaml` from the shipped folder and each overlay (from the
        parsed-catalogue cache while those files are unchanged, planner/cache.py)."""
        folders = search_dirs("export_regimes", overlays)
        paths = [sorted(f.glob("*.yaml")) if f.is_dir() else [] for f in folders]

        def read() -> RegimeLibrary:
            files: dict[str, tuple[RegimeFile, Path]] = {}
            problems: list[Problem] = []
            for path in (p for layer in paths for p in layer):
                try:
                    raw = _parse(path)
                except InputError as exc:
                    problems.extend(exc.problems)
                    continue
                files[raw.id] = (raw, path)
            if problems:
                raise InputError(problems)
            return cls.from_files(files)

        return cached("regimes", folders, [p for layer in paths for p in layer], read)

    @classmethod
    def from_files(cls, files: Mapping[str, tuple[RegimeFile, Path]]) -> RegimeLibrary:
        """Resolve `extends:` chains (parents first) and check every snapshot."""
        resolved: dict[str, Regime] = {}
        problems: list[Problem] = []

        def resolve(regime_id: str, stack: tuple[str, ...]) -> Regime | None:
            if regime_id in resolved:
                return resolved[regime_id]
            raw, path = files[regime_id]
            parent = None
            if raw.extends is not None:
                if raw.extends not in files:
                    problems.append(
                        Problem(
                            str(path),
                            "extends",
                            f"no snapshot '{raw.extends}'.",
                            _did_you_mean(raw.extends, list(files)),
                        )
                    )
                    return None
                if raw.extends in stack:
                    problems.append(
                        Problem(
                            str(path),
                            "extends",
                            f"'{regime_id}' extends itself through "
                            f"{' -> '.join((*stack, raw.extends))}.",
                            "break the cycle.",
                        )
                    )
                    return None
                parent = resolve(raw.extends, (*stack, regime_id))
                if parent is None:
                    return None
            resolved[regime_id] = _resolve(raw, path, parent, problems)
            return resolved[regime_id]

        for regime_id in sorted(files):
            resolve(regime_id, ())
        if problems:
            raise InputError(problems)
        ordered = sorted(resolved.values(), key=lambda r: (r.jurisdiction, r.effective))
        return cls(MappingProxyType(_with_implicit_ends({r.id: r for r in ordered})))

    def __getitem__(self, regime_id: str) -> Regime:
        try:
            return self.regimes[regime_id]
        except KeyError:
            raise UnknownName("regime", regime_id, list(self.regimes)) from None

    def __iter__(self) -> Iterator[Regime]:
        return iter(self.regimes.values())

    def __len__(self) -> int:
        return len(self.regimes)

    def jurisdictions(self) -> list[str]:
        """Every jurisdiction with a snapshot, sorted."""
        return sorted({r.jurisdiction for r in self})

    def in_force(self, date: dt.date, jurisdiction: str) -> Regime | None:
        """The snapshot of a jurisdiction in force on a date (latest effective), or None."""
        live = [r for r in self if r.jurisdiction == jurisdiction and r.in_force(date)]
        return max(live, key=lambda r: r.effective) if live else None

    def select(self, date: dt.date | None, regime: str | None = None) -> list[Regime]:
        """Snapshots that apply: `regime` fixes its jurisdiction's; the others follow the date."""
        fixed = self[regime] if regime is not None else None
        chosen = [fixed] if fixed is not None else []
        if date is not None:
            for j in self.jurisdictions():
                if fixed is not None and j == fixed.jurisdiction:
                    continue
                live = self.in_force(date, j)
                if live is not None:
                    chosen.append(live)
        return chosen


def _did_you_mean(name: str, known: list[str]) -> str:
    from difflib import get_close_matches

    close = get_close_matches(name, known, n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(sorted(known))}."
