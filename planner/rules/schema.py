"""The schema of one export-regime file (`export_regimes/<id>.yaml`), documented in
docs/export_rules.md.

A file is one snapshot of one jurisdiction's rules in force from `effective`: how parts are
classified (ECCN buckets), the country groups, and the controls (licence requirements, buyer-side
bans, power subsidies). A snapshot may `extends:` an earlier one and amend it, so a new rule is a
new short file, not new code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import field_validator, model_validator

from planner.provenance import Confidence, SourceIn
from planner.schema import Bounds, StrictModel

Status = Literal["no_licence", "notification", "licence_required"]
ReviewPolicy = Literal["presumption_of_denial", "case_by_case", "approval"]
ControlKind = Literal["export_licence", "buyer_restriction", "power_subsidy", "note"]
CapKind = Literal[
    "country_allocation_tpp",
    "per_customer_exemption_tpp",
    "per_customer_units",
    "volume_fraction_of_us_shipments",
]

_COUNTRY = r"^[A-Z]{2}$"

# Ranges of a rule's numbers (planner.schema.Bounds). TPP thresholds in the shipped rules are
# 1,600 to 21,000 and a single part today reaches about 80,000 (fp4 on a Blackwell package);
# performance densities are 1.6 to 5.92. Years are calendar years.
TPP = Bounds("", hard=(0, 1e9), typical=(0, 1_000_000), what="a TPP threshold")
DENSITY = Bounds("", hard=(0, 1e6), typical=(0, 10_000), what="a performance density")
LINK = Bounds("GB/s", hard=(0, 10_000_000), typical=(0, 100_000), what="a bandwidth threshold")
SHARE = Bounds("", hard=(0, 1), what="a fraction")
YEAR = Bounds("", hard=(1900, 2200), typical=(2000, 2100), what="a calendar year")


class Cited(StrictModel):
    """Every rule entry names its source(s) (keys of `sources:` or URLs) and a confidence."""

    source: str | list[str]
    confidence: Confidence
    note: str | None = None

    def source_keys(self) -> list[str]:
        """The keys (or URLs) of every source this group cites."""
        return [self.source] if isinstance(self.source, str) else list(self.source)


class ConditionIn(StrictModel):
    """Tests on a part; every field given must hold (AND); `any_of` holds if one branch holds.

    Thresholds are inclusive minima (`*_min`: value >= threshold) and exclusive maxima
    (`*_below`: value < threshold), as the rule texts write "X or more" and "less than X".
    Bandwidths are quantities with units ("600 GB/s"); TPP and PD are plain numbers.
    """

    tpp_min: Annotated[float | None, TPP] = None
    tpp_below: Annotated[float | None, TPP] = None
    performance_density_min: Annotated[float | None, DENSITY] = None
    performance_density_below: Annotated[float | None, DENSITY] = None
    aggregate_io_bandwidth_min: Annotated[str | None, LINK] = None
    memory_bandwidth_min: Annotated[str | None, LINK] = None
    memory_bandwidth_below: Annotated[str | None, LINK] = None
    scale_up_bandwidth_min: Annotated[str | None, LINK] = None
    datacenter: bool | None = None
    hbm: bool | None = None
    eccn: list[str | None] | None = None
    parts: list[str] | None = None
    not_parts: list[str] | None = None
    designed_in: list[str] | None = None
    domestic: bool | None = None
    any_of: list[ConditionIn] | None = None


class BuyersIn(StrictModel):
    """Which buyer countries a control reaches: named countries or groups, minus exceptions.

    Leaving out both `countries` and `groups` means every country. With `headquarters: true` the
    control also reaches a buyer headquartered (or whose ultimate parent is) in those countries,
    wherever it takes delivery (the Oct-2023 rule's reach to D:5- and Macau-headquartered
    entities).
    """

    countries: list[str] = []
    groups: list[str] = []
    except_countries: list[str] = []
    except_groups: list[str] = []
    headquarters: bool = False


class CapIn(Cited):
    """A quantity limit attached to a control, e.g. a country's TPP allocation.

    `first_year`..`last_year` (inclusive) bound the years the cap covers (none: every year the
    control is in force); `cumulative: true` makes it one allowance for the whole window (the AI
    Diffusion rule's 2025-2027 country allocation) instead of one per year.
    """

    kind: CapKind
    # A TPP allocation (shipped up to 7.9e8), a number of units or a fraction, by `kind`.
    value: Annotated[float | None, Bounds("", hard=(0, 1e15), what="a cap")]
    period: str | None = None
    first_year: Annotated[int | None, YEAR] = None
    last_year: Annotated[int | None, YEAR] = None
    cumulative: bool = False

    @model_validator(mode="after")
    def _window(self) -> CapIn:
        first, last = self.first_year, self.last_year
        if first is not None and last is not None and first > last:
            raise ValueError(f"first_year {first} is after last_year {last}")
        if self.cumulative and (first is None or last is None):
            raise ValueError("a cumulative cap needs first_year and last_year")
        return self


class BucketIn(Cited):
    """One ECCN bucket: a part lands in the first bucket whose condition holds."""

    eccn: str
    when: ConditionIn


class GroupIn(Cited):
    """A named country group (Country Group D:5, AI-diffusion Tier 1, ...)."""

    members: list[str]

    @field_validator("members", mode="before")
    @classmethod
    def _norway(cls, members: object) -> object:
        if isinstance(members, list) and any(isinstance(m, bool) for m in members):
            raise ValueError(
                'YAML reads an unquoted NO (Norway) as false; write it in quotes: "NO"'
            )
        return members

    @field_validator("members")
    @classmethod
    def _codes(cls, members: list[str]) -> list[str]:
        bad = [m for m in members if not isinstance(m, str) or len(m) != 2 or not m.isupper()]
        if bad:
            raise ValueError(f"{bad} are not two-letter ISO country codes like 'CN'")
        return members


class ControlIn(Cited):
    """One rule of a snapshot.

    `export_licence`: sets the licence status, review policy, fees and caps of matching parts.
    `buyer_restriction`: `allowed: false` forbids matching purchases (e.g. foreign chips in
    state-funded sites). `power_subsidy`: cuts the power price of sites running matching parts.
    `note`: adds a reason without deciding anything (guidance, warnings).
    """

    id: str
    title: str
    kind: ControlKind = "export_licence"
    buyers: BuyersIn | None = None
    part: ConditionIn = ConditionIn()
    origin: list[str] | None = None
    state_funded_site: bool | None = None
    status: Status | None = None
    review_policy: ReviewPolicy | None = None
    revenue_share_fraction: Annotated[float, SHARE] = 0.0
    duty_fraction: Annotated[float, SHARE] = 0.0
    caps: list[CapIn] = []
    allowed: bool | None = None
    power_subsidy_fraction: Annotated[float | None, SHARE] = None
    regions: list[str] = []
    compliance_from: dt.date | None = None


class RegimeFile(StrictModel):
    """One snapshot file."""

    id: str
    jurisdiction: str
    title: str
    effective: dt.date
    end: dt.date | None = None
    extends: str | None = None
    origin: list[str] | None = None
    citation: str
    sources: dict[str, SourceIn]
    country_groups: dict[str, GroupIn] = {}
    classification: list[BucketIn] | None = None
    controls: list[ControlIn] = []
    remove_controls: list[str] = []
    notes: str | None = None

    @field_validator("jurisdiction")
    @classmethod
    def _jurisdiction(cls, value: str) -> str:
        if len(value) != 2 or not value.isupper():
            raise ValueError(f"'{value}' is not a two-letter ISO country code like 'US'")
        return value
