"""Who can buy what (issue 13): a part lists who can buy it (the Zhenwu PPU: the Alibaba group),
and a scenario's buyer ({country, headquarters, group}) gates each site's purchases, the export
rules following the site's country and the buyer's headquarters."""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from planner.catalogue.parts import Catalogue
from planner.errors import InputError
from planner.plan.scenario import load_scenario, parse_scenario
from planner.plan.solve import resolve
from planner.rules import Buyer, RegimeLibrary, purchase_terms

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"
SEA = ROOT / "scenarios" / "sea_buildout_2026.yaml"
LIB = RegimeLibrary.load()
ZHENWU = Catalogue.load()["zhenwu-ppu"]


def raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def resolved(data: dict[str, Any], path: Path, **kw: Any):  # type: ignore[no-untyped-def]
    return resolve(parse_scenario(data, path), **kw)


@pytest.mark.parametrize(
    ("group", "allowed"), [(None, False), ("bytedance", False), ("alibaba", True)]
)
def test_the_zhenwu_ppu_is_sold_within_the_alibaba_group(group: str | None, allowed: bool) -> None:
    assert ZHENWU.sold_to_groups == ("alibaba",)
    t = purchase_terms(
        ZHENWU, Buyer.of("CN", group=group), dt.date(2026, 3, 1), state_funded_site=False,
        library=LIB,
    )  # fmt: skip
    assert t.allowed is allowed
    if not allowed:
        assert t.reasons[0].startswith("availability: zhenwu-ppu is sold only within the alibaba")


def test_a_scenario_buyer_outside_the_group_cannot_buy_it() -> None:
    data = raw(CN)
    data["rules"]["buyer"] = "CN"  # a bare country code: no group
    res = resolved(data, CN)
    p = res.axes.parts.index("zhenwu-ppu")
    assert not res.inputs.allowed[p].any()
    assert any("zhenwu-ppu: sold only within the alibaba group" in n for n in res.notes)
    data["rules"]["buyer"] = {"country": "CN", "group": "alibaba"}
    assert resolved(data, CN).inputs.allowed[p].all()


def malaysian_site(buyer: object) -> dict[str, Any]:
    data = copy.deepcopy(raw(TINY))
    site = data["sites"][0]
    site.update(country="MY", province="Johor", timezone="Asia/Kuala_Lumpur")
    data["rules"]["buyer"] = buyer
    return data


def test_a_china_headquartered_buyer_abroad_carries_the_chinese_terms() -> None:
    """An H200 for a site in Malaysia, 2026: a Malaysian buyer needs no licence and pays no
    duty; one headquartered in China is reviewed case by case with the 25% duty, as in China."""
    local = resolved(malaysian_site("MY"), TINY)
    owned = resolved(malaysian_site({"country": "MY", "headquarters": "CN"}), TINY)
    p = local.axes.parts.index("h200")
    assert local.inputs.price_uplift_fraction[p] == pytest.approx([0.0, 0.0])
    assert owned.inputs.price_uplift_fraction[p] == pytest.approx([0.25, 0.25])


def test_bad_buyer_fields_are_named_with_a_fix() -> None:
    data = malaysian_site({"country": "MY", "headquarters": "Zhongguo", "group": "Ali Baba"})
    with pytest.raises(InputError) as info:
        parse_scenario(data, TINY)
    text = str(info.value)
    assert "rules.buyer.headquarters: 'Zhongguo' is not an ISO 3166 two-letter country code" in text
    assert "rules.buyer.group: 'Ali Baba' is not a group name" in text


def test_each_site_country_has_its_own_cumulative_diffusion_cap() -> None:
    """Under us-2025-01 Singapore and Malaysia are each Tier 2 with their own allocation: two
    cap groups, each one allowance over the plan periods inside 2025-2027 (2026 and 2027)."""
    res = resolve(load_scenario(SEA), regime="us-2025-01")
    x = res.inputs
    assert x.cap_group_sites.shape[0] == 2 and x.cap_group_sites.sum(axis=0).tolist() == [1, 1]
    assert x.tpp_cap_cumulative.tolist() == [True, True]
    np.testing.assert_array_equal(np.isfinite(x.tpp_cap), [[True, True, False, False]] * 2)
    assert x.tpp_cap[0, 0] == pytest.approx(7.9e8) and not math.isinf(x.tpp_cap[1, 1])
