"""A starter rule overlay to edit (`planner export regimes new --from ID --out FILE`): a snapshot
that `extends:` a shipped one from a later date, with no change yet, listing the controls it
inherits and, commented out, one of them copied as written so a what-if starts from the rule's
own wording (docs/export_rules.md, "Rule overlays").

Nothing in the starter is presented as a rule in force: its title, citation and source say it
is a what-if; with no controls and nothing removed it decides exactly what its parent decides.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import yaml

from planner.errors import InputError
from planner.rules.regimes import Control, Regime, RegimeLibrary
from planner.yamlio import read_yaml

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


def default_effective(parent: Regime) -> dt.date:
    """1 January of the year after the parent took effect."""
    return dt.date(parent.effective.year + 1, 1, 1)


def raw_control(library: RegimeLibrary, control: Control) -> dict[str, Any] | None:
    """A control as written in the file of the snapshot that wrote it (aliases expanded)."""
    written = library.regimes.get(control.snapshot)
    if written is None:
        return None
    data = read_yaml(written.path)
    for item in data.get("controls") or []:
        if isinstance(item, dict) and item.get("id") == control.id:
            return item
    return None


def _commented(text: str) -> str:
    return "".join(f"#   {line}\n" if line else "#\n" for line in text.splitlines())


def _inherited(library: RegimeLibrary, parent: Regime) -> str:
    """One comment line per control the overlay inherits, and one of them copied, commented."""
    lines = [f"# Controls in force under {parent.id} (the overlay inherits them all):"]
    for c in parent.controls:
        terms = ", ".join(str(v) for v in (c.kind, c.status, c.review_policy) if v is not None)
        lines.append(f"#   {c.id}  ({terms}; written in {c.snapshot}): {c.title}")
    sample = next((c for c in parent.controls if c.kind == "export_licence"), None)
    raw = raw_control(library, sample) if sample is not None else None
    if sample is None or raw is None:
        return "\n".join(lines) + "\n"
    copy = yaml.safe_dump([raw], sort_keys=False, allow_unicode=True, width=96)
    lines += [
        "#",
        "# To change a control, copy it under `controls:` with the same id (it then replaces the",
        f"# inherited one); e.g. {sample.id}, as written in {sample.snapshot}:",
        "#",
    ]
    return "\n".join(lines) + "\n" + _commented(copy)


def starter_overlay(
    library: RegimeLibrary, from_id: str, out: Path, effective: dt.date | None = None
) -> str:
    """The starter overlay's YAML; its id is the file name of `out` (the loader requires it)."""
    parent = library.regimes.get(from_id)
    if parent is None:
        known = ", ".join(sorted(library.regimes))
        raise InputError.option("from", f"'{from_id}' is not a snapshot.", f"use one of: {known}.")
    new_id = out.name.removesuffix(".yaml")
    if not out.name.endswith(".yaml") or not ID_PATTERN.match(new_id):
        raise InputError.option(
            "out", f"'{out}' is not <id>.yaml with a lowercase id.", "e.g. us-2027-01.yaml."
        )
    if new_id in library.regimes:
        raise InputError.option(
            "out", f"'{new_id}' is the id of an existing snapshot.", "name the file differently."
        )
    when = effective or default_effective(parent)
    if when <= parent.effective:
        raise InputError.option(
            "effective", f"{when.isoformat()} is not after {parent.id} ({parent.effective}).",
            "give a later date: an overlay follows the snapshot it extends.",
        )  # fmt: skip
    return _header(parent, new_id, when, out) + _inherited(library, parent)


def _header(parent: Regime, new_id: str, when: dt.date, out: Path) -> str:
    folder = out.parent.parent if out.parent.name == "export_regimes" else None
    overlay = str(folder) if folder is not None else "OVERLAY"
    where = (
        f"# It sits in {out.parent}, so the overlay folder is {overlay}:"
        if folder is not None
        else "# Move it to OVERLAY/export_regimes/ (any folder OVERLAY), then:"
    )
    return f"""\
# Starter rule overlay written by `planner export regimes new --from {parent.id}` on {dt.date.today()}.
# A WHAT-IF, not a rule in force. From {when} it stands for {parent.jurisdiction} in place of
# {parent.id}; as written it changes nothing (no controls, none removed), so it decides exactly
# what {parent.id} decides. Edit `controls:` (same id = replaces an inherited control) and
# `remove_controls:` (ids to drop); the schema is in docs/export_rules.md ("Writing a snapshot").
{where}
#   planner export classify h200 --buyer CN --date {when.year}-06-01 --profiles {overlay}
#   planner scenario check cn_maas_2026 --profiles {overlay}
#   planner plan cn_maas_2026 --profiles {overlay}
id: {new_id}   # = the file name; the loader checks it
jurisdiction: {parent.jurisdiction}
title: "What-if from {when}: edit me to say what this overlay changes"
effective: {when.isoformat()}   # from this date it replaces {parent.id} (and --regime {new_id} fixes it)
extends: {parent.id}
citation: "What-if written with planner export regimes new; not a published rule"
sources:
  whatif: {{title: "What-if of this overlay: not a published rule; cite each change's source"}}
remove_controls: []   # e.g. [{parent.controls[0].id if parent.controls else "control-id"}]
controls: []   # replace [] by the controls to add or replace, e.g. the copy at the end
"""  # noqa: E501
