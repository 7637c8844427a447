"""Scenario files: strict schema, every problem at once with file, field and fix."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from planner.errors import InputError, InputWarning
from planner.plan.scenario import load_scenario, parse_scenario
from planner.plan.solve import resolve

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"
FLAGSHIP = ROOT / "scenarios" / "cn_maas_2026.yaml"


def raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def problems(data: dict[str, Any], path: Path = TINY) -> list[str]:
    with pytest.raises(InputError) as info:
        parse_scenario(data, path)
    return [str(p) for p in info.value.problems]


def test_shipped_scenarios_load() -> None:
    for path in (TINY, CN, FLAGSHIP):
        scenario = load_scenario(path)
        assert scenario.demand.period_labels[0] == "2026"
    flagship = load_scenario(FLAGSHIP)
    assert flagship.demand.workload_names == ("chat", "agents", "video")
    assert flagship.demand.tokens_per_day[:, 0].sum() == pytest.approx(5.0e12)


def test_unknown_fields_are_all_reported_with_field_and_fix() -> None:
    data = raw(TINY)
    data["discount_rate"] = 0.05  # misspelt
    data["sites"][0]["grid"]["import_capacity"] = data["sites"][0]["grid"].pop("import_cap")
    data["sites"][0]["timezone"] = "Mars/Olympus"
    data["rules"]["buyer"] = "usa"
    found = problems(data)
    text = "\n".join(found)
    assert f"{TINY}: discount_rate: Extra inputs are not permitted" in text
    assert "sites[0].timezone: 'Mars/Olympus' is not an IANA time zone" in text
    # the buyer is {country, headquarters, group} now (issue 13); a bare code fills `country`
    assert "rules.buyer.country: 'usa' is not an ISO 3166 two-letter country code" in text
    assert "sites[0].grid.import_capacity: Extra inputs are not permitted" in text
    assert "sites[0].grid.import_cap: Field required" in text
    assert all("Fix:" in line for line in found)


def test_cross_field_problems_are_collected() -> None:
    data = raw(TINY)
    data["serving"][0]["workload"] = "chats"
    data["parts"][1]["part"] = "h20"  # repeats
    data["sources"].pop("test")  # every figure now cites a missing source
    data["exchange_rates"] = {
        "usd": {"value": 1, "source": "test", "confidence": "estimate", "note": "x"}
    }
    text = "\n".join(problems(data))
    assert "serving[0].workload: 'chats' is not a workload of demand.workloads." in text
    assert "demand.workloads[0].name: workload 'chat' has no serving entry." in text
    assert "parts[1]: part 'h20' repeats." in text
    assert "discount_rate_fraction.source: 'test' is neither a key of 'sources:' nor a URL." in text
    assert "exchange_rates.usd: 'usd' is not a currency code." in text


def test_demand_errors_come_with_the_scenario_errors() -> None:
    data = raw(TINY)
    del data["demand"]["workloads"][0]["output_share_fraction"]
    data["serving"][0]["workload"] = "nope"
    text = "\n".join(problems(data))
    assert "demand.workloads[0].output_share_fraction: missing" in text
    assert "serving[0].workload: 'nope'" in text


def test_a_figure_outside_its_range_names_field_value_and_range() -> None:
    data = raw(TINY)
    data["demand"]["workloads"][0]["output_share_fraction"] = 1.5
    data["sites"][0]["grid"]["import_cap"]["value"] = "20 GW"
    with pytest.warns(
        InputWarning, match=r"import_cap.value: '20 GW' \(20,000 MW\) is outside the typical"
    ):
        text = "\n".join(problems(data))
    assert (
        "demand.workloads[0].output_share_fraction: 1.5 is outside the possible range: an output "
        "share of tokens must be from 0 to 1. Fix: write a value from 0 to 1;"
    ) in text
    assert (
        "sites[0].grid.import_cap.value: '20 GW' (20,000 MW) is outside the possible range: "
        "a site's power must be from 0 to 100,000 MW."
    ) not in text  # 20 GW is possible, only atypical
    data["sites"][0]["grid"]["import_cap"]["value"] = "200 GW"
    text = "\n".join(problems(data))
    assert (
        "sites[0].grid.import_cap.value: '200 GW' (200,000 MW) is outside the possible range: "
        "a site's power must be from 0 to 100,000 MW."
    ) in text


def _resolve_problems(data: dict[str, Any], path: Path = TINY) -> str:
    scenario = parse_scenario(data, path)
    with pytest.raises(InputError) as info:
        resolve(scenario)
    return "\n".join(str(p) for p in info.value.problems)


def test_resolution_problems_name_file_field_and_fix() -> None:
    data = raw(TINY)
    data["parts"][0]["part"] = "h200-sxm"
    data["sites"][0]["grid"]["import_cap"]["value"] = "20 MWh"
    text = _resolve_problems(data)
    assert "parts[0].part: 'h200-sxm' is not in the hardware catalogue. Fix: did you mean" in text
    assert "sites[0].grid.import_cap.value: '20 MWh' is not a power." in text
    assert str(TINY) in text


def test_a_pue_below_one_is_refused_when_the_file_is_read() -> None:
    data = raw(TINY)
    data["sites"][0]["pue"]["value"] = 0.8
    text = "\n".join(problems(data))
    assert "sites[0].pue.value: 0.8 is outside the possible range: a PUE (facility / IT" in text


def test_a_video_workload_is_refused_in_words() -> None:
    data = raw(TINY)
    data["serving"][0]["profile"] = "wan2.1-t2v-14b"
    text = _resolve_problems(data)
    assert "serving[0].profile: 'wan2.1-t2v-14b' is a video workload" in text


def test_foreign_price_needs_an_exchange_rate() -> None:
    data = copy.deepcopy(raw(TINY))
    data["currency"] = "CNY"
    text = _resolve_problems(data)
    h20 = ROOT / "hardware_profiles/nvidia/h20.yaml"
    assert (
        f"parts[0].price_per_part: 'h20' has no price_per_part here, and its profile ({h20}) "
        "prices it at 11,000 USD: that price is in USD, and the scenario counts money in CNY "
        "with no USD rate to convert it. Fix: add exchange_rates.USD: {value: <CNY per 1 USD>, "
        "source: ..., confidence: ...} to the scenario, or give this price in CNY."
    ) in text
    assert "has no price (its profile has none)" not in text  # it has one, in another currency


def test_full_domestic_share_with_a_foreign_base_is_refused_before_solving() -> None:
    data = raw(CN)
    data["parts"][0]["installed"] = [{"site": "gd", "count": 8, "year": 2025}]
    data["rules"]["domestic_share"] = {"min_fraction": {2026: 1.0}}
    text = _resolve_problems(data, CN)
    assert "rules.domestic_share.min_fraction: a 100% domestic share in 2026 is impossible" in text


def test_flagship_rules_resolve_as_the_rules_say() -> None:
    """State-funded sites buy domestic parts only and get the western power subsidy; the
    A800/H800 base cannot be added to; H20 and H200 carry their US licence fees."""
    res = resolve(load_scenario(FLAGSHIP))
    ax, x = res.axes, res.inputs
    p = {name: i for i, name in enumerate(ax.parts)}
    s = {name: i for i, name in enumerate(ax.sites)}
    for site in ("inner-mongolia-horinger", "guizhou-guian"):
        assert not x.allowed[[p["h20"], p["h200"]], s[site]].any()
        assert x.allowed[p["ascend-910c"], s[site]].all()
        assert res.power_subsidy_fraction[s[site]] == pytest.approx(0.5)
    assert res.power_subsidy_fraction[s["guangdong-zhongshan"]] == pytest.approx(0.0)
    assert x.allowed[p["h20"], s["guangdong-zhongshan"]].all()
    assert not x.allowed[[p["a800"], p["h800"]]].any()
    assert x.price_uplift_fraction[p["h20"]] == pytest.approx(0.15)
    assert x.price_uplift_fraction[p["h200"]] == pytest.approx(0.25)
    assert x.base_parts[p["a800"], s["hebei-zhangjiakou"]].sum() == 4000
    # H200 price: ($27,000 + the HGX H200 platform's $32,010 / 8 GPUs) x 7.2 CNY/USD, falling 15%
    # a year (issue 15: parts are bought in their server profiles)
    assert x.price_per_part[p["h200"], 1] == pytest.approx((27_000 + 32_010 / 8) * 7.2 * 0.85)
    assert x.weight_h.sum() == pytest.approx(8760)
