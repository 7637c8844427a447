"""Provincial tariffs as sourced (issue 13): Inner Mongolia's large-industry price is about
0.26-0.38 CNY/kWh, below Guangdong's 0.69, not the 0.80 read before."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planner.plan.scenario import load_scenario
from planner.sites.site import load_site

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "scenarios" / "sites"
FLAGSHIP = ROOT / "scenarios" / "cn_maas_2026.yaml"


def flat_price(path: Path) -> tuple[float, str]:
    tou = yaml.safe_load(path.read_text(encoding="utf-8"))["grid"]["energy_price"]["tou"]
    flat = tou["prices_per_mwh"]["flat"]
    return float(flat["value"]), flat["note"]


def test_inner_mongolia_is_cheaper_than_guangdong_and_carries_its_range() -> None:
    price, note = flat_price(SITES / "inner_mongolia_horinger.yaml")
    guangdong, _ = flat_price(SITES / "guangdong_zhongshan.yaml")
    assert 260 <= price <= 450 < guangdong
    assert "range 260-380" in note
    site = load_site(SITES / "inner_mongolia_horinger.yaml")
    assert site.name == "inner-mongolia-horinger"


def test_the_flagship_uses_the_sourced_inner_mongolia_price() -> None:
    scenario = load_scenario(FLAGSHIP)
    site = next(s for s in scenario.raw.sites if s.province == "Inner Mongolia")
    flat = site.grid.energy_price.tou.prices_per_mwh["flat"]  # type: ignore[union-attr]
    assert flat.value == pytest.approx(flat_price(SITES / "inner_mongolia_horinger.yaml")[0])
    assert flat.confidence == "estimate" and "range 260-380" in (flat.note or "")
