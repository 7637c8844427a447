"""Issue 17: one site reader (planner/sites/reader.py) for `planner site size` and for plans.

A battery block reads the same in a site file and in a scenario (same figures, same defaults of
absent fields); no site figure is read anywhere else, and neither path carries defaults of its
own.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

from planner.plan.resolve_sites import read_battery
from planner.plan.resolver import Resolver
from planner.plan.scenario import parse_scenario
from planner.sites.reader import NO_BATTERY, FieldReader
from planner.sites.reader import read_battery as read_battery_figures
from planner.sites.schema import BatteryIn
from planner.sites.site import load_site

REPO = Path(__file__).resolve().parents[1]
CAROLINA = REPO / "scenarios/sites/north_carolina_greensboro.yaml"
TINY = REPO / "scenarios/tiny/one_site_two_parts.yaml"


def _scenario_with_battery(block: dict) -> Resolver:
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["battery"] = block
    data["sources"].update(yaml.safe_load(CAROLINA.read_text(encoding="utf-8"))["sources"])
    return Resolver(parse_scenario(data, TINY))


def test_a_battery_block_reads_the_same_for_a_site_and_for_a_plan() -> None:
    block = yaml.safe_load(CAROLINA.read_text(encoding="utf-8"))["battery"]
    site = load_site(CAROLINA)
    plan = read_battery(_scenario_with_battery(block))
    assert plan.charge_efficiency_fraction == site.charge_efficiency_fraction == 0.922
    assert plan.discharge_efficiency_fraction == site.discharge_efficiency_fraction == 0.922
    assert (plan.min_duration_h, plan.max_duration_h) == (site.min_duration_h, 8.0) == (1.0, 8.0)
    assert plan.soc_min_fraction == site.soc_min_fraction == 0.0  # absent: the one default
    assert plan.soc_max_fraction == site.soc_max_fraction == 1.0
    assert plan.max_mwh == site.battery_max_mwh == math.inf
    assert plan.backup_hours == site.backup_hours == 1.0
    assert plan.annual_cycle_limit == site.annual_cycle_limit == 365.0


def test_no_battery_is_one_set_of_figures_for_both() -> None:
    reader = FieldReader(TINY, {}, "USD")
    assert read_battery_figures(reader, None) is NO_BATTERY
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    assert read_battery(Resolver(parse_scenario(data, TINY))) is NO_BATTERY
    assert NO_BATTERY.max_mwh == 0.0  # nothing to build, so efficiencies cannot matter


def test_every_battery_field_is_read_by_the_one_reader() -> None:
    """A new battery field is one schema edit and one reader edit: `read_battery` reads every
    field of `BatteryIn` into `BatteryFigures`."""
    source = (REPO / "planner/sites/reader.py").read_text(encoding="utf-8")
    body = source[source.index("def read_battery(") :]
    for name in BatteryIn.model_fields:
        assert f"b.{name}" in body, name


def test_only_the_reader_reads_site_figures() -> None:
    """FieldReader is built in the site file loader and the plan's resolver only, each over the
    one reader; no module copies the battery's defaults (the old `get(..., 0.95)`)."""
    for path in (REPO / "planner").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "reader.py":
            assert "class FieldReader" not in text, path
            assert not re.search(r"efficiency_fraction\", 0\.9", text), path
    plans = (REPO / "planner/plan/resolve_sites.py").read_text(encoding="utf-8")
    assert "from planner.sites.reader import" in plans
    assert "SimpleNamespace" not in plans and "type: ignore" not in plans
