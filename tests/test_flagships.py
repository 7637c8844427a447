"""Flagship scenarios 2 (Southeast Asia, with and without the AI Diffusion caps) and 3 (a US site
with B200/GB200 and a battery behind a tight grid connection), solved with HiGHS through the CLI.

Each solve goes through `planner plan` exactly as a user runs it; results are cached per module.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.plan.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SEA = ROOT / "scenarios" / "sea_buildout_2026.yaml"
US = ROOT / "scenarios" / "us_b200_battery.yaml"
DIFFUSION = "us-2025-01"
CAP_TPP = 7.9e8  # us-2025-01 Tier-2 country allocation (export_regimes/us-2025-01.yaml)
MW_TOL = 1e-6  # HiGHS primal feasibility (1e-7) in MW: no bound scaling any more

_cache: dict[tuple[str, ...], dict[str, Any]] = {}


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process; return exit code, stdout and stderr."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def plan_json(scenario: Path, *flags: str) -> dict[str, Any]:
    """`planner plan SCENARIO --format json FLAGS`, solved once per module."""
    key = (str(scenario), *flags)
    if key not in _cache:
        code, out, err = run("plan", str(scenario), "--format", "json", *flags)
        assert code == 0, err
        _cache[key] = json.loads(out)
    return _cache[key]


def tpp_by_part(parts: list[str], buyer: str, regime: str) -> tuple[dict[str, float], float]:
    """TPP per part and the country TPP cap, as the export rules engine reports them."""
    code, out, err = run(
        "export", "classify", *parts, "--buyer", buyer, "--regime", regime, "--format", "json"
    )
    assert code == 0, err
    rows = json.loads(out)
    caps = [c["value"] for r in rows for c in r["caps"] if c["kind"] == "country_allocation_tpp"]
    return {r["part"]: float(r["tpp"]) for r in rows}, min(caps)


def tpp_bought(plan: dict[str, Any], site: str, tpp: dict[str, float]) -> dict[str, float]:
    """TPP of the parts bought at one site, per plan period."""
    total: dict[str, float] = defaultdict(float)
    for row in plan["parts"]:
        if row["site"] == site:
            total[row["year"]] += row["count"] * tpp[row["part"]]
    return dict(total)


@pytest.mark.parametrize("path", [SEA, US])
def test_flagship_loads_and_names_itself_after_the_file(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.raw.name == path.stem.replace("_", "-")
    assert len(scenario.raw.sites) >= 1


def figures(node: object, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every `{value: ...}` mapping of a parsed YAML tree, with its dotted path."""
    if isinstance(node, dict):
        found = [(where, node)] if "value" in node else []
        for key, item in node.items():
            found += figures(item, f"{where}.{key}")
        return found
    if isinstance(node, list):
        return [f for i, item in enumerate(node) for f in figures(item, f"{where}[{i}]")]
    return []


@pytest.mark.parametrize("path", [SEA, US])
def test_every_figure_has_a_source_and_a_confidence_or_says_why_not(path: Path) -> None:
    found = figures(yaml.safe_load(path.read_text()))
    assert len(found) > 20
    for where, fig in found:
        if fig["value"] is None:
            assert fig.get("note"), where  # an unknown says why
            continue
        assert fig.get("source") and fig.get("confidence"), where
        if fig["confidence"] == "estimate":
            assert fig.get("note"), where  # an estimate says how it was made


@pytest.mark.parametrize("path", [SEA, US])
def test_lp_relaxation_agrees_across_backends(path: Path) -> None:
    cvx = plan_json(path, "--relax")
    pyo = plan_json(path, "--relax", "--backend", "pyomo")
    assert cvx["status"] == pyo["status"] == "optimal"
    assert cvx["net_present_cost"] == pytest.approx(pyo["net_present_cost"], rel=1e-6)


def test_sea_diffusion_caps_bind_and_cost_more() -> None:
    free = plan_json(SEA, "--relax")
    capped = plan_json(SEA, "--relax", "--regime", DIFFUSION)
    parts = sorted({r["part"] for r in free["parts"] + capped["parts"]} | {"b200", "h200"})
    tpp, cap = tpp_by_part(parts, "SG", DIFFUSION)
    assert cap == CAP_TPP
    assert tpp["b200"] == 36000 and tpp["h200"] == pytest.approx(15832, rel=1e-3)
    # Default rules (auto): the Diffusion rule is rescinded, no cap applies in 2026-2029.
    assert DIFFUSION + "/diffusion-tier2" not in free["rules"]
    assert DIFFUSION + "/diffusion-tier2" in capped["rules"]
    # The demand is sized so that the cap matters: uncapped, Singapore buys more than the cap
    # (1.16 x it in its busiest period with the serving table of docs/serving.md item 30, above
    # 1.2 x with the tables before it: each refit moves the parts' rates and so the mix).
    assert max(tpp_bought(free, "singapore-west", tpp).values()) > 1.1 * cap
    # Capped, every period's Singapore purchases stay within the cap (the buyer's country).
    for period, bought in tpp_bought(capped, "singapore-west", tpp).items():
        assert bought <= cap * (1 + 1e-6), period
    assert capped["net_present_cost"] > free["net_present_cost"] * (1 + 1e-3)
    assert any(b["constraint"] == "tpp_cap" for b in capped["binding"])


def test_sea_capped_milp_whole_servers_respect_the_cap() -> None:
    milp = plan_json(SEA, "--mip-gap", "0.005", "--regime", DIFFUSION)
    assert milp["status"] == "optimal"
    tpp, cap = tpp_by_part(sorted({r["part"] for r in milp["parts"]}), "SG", DIFFUSION)
    for period, bought in tpp_bought(milp, "singapore-west", tpp).items():
        assert bought <= cap * (1 + 1e-6), period
    for row in milp["parts"]:
        servers = row["count"] / 8
        assert servers == pytest.approx(round(servers), abs=1e-6), row  # whole 8-GPU servers


def test_us_battery_is_built_and_grid_stays_within_the_connection(tmp_path: Path) -> None:
    code, _, err = run(
        "plan", str(US), "--mip-gap", "0.005", "--format", "json", "--out", str(tmp_path / "run")
    )
    assert code == 0, err
    op = pd.read_parquet(tmp_path / "run" / "tables" / "dispatch.parquet")
    sites = pd.read_parquet(tmp_path / "run" / "tables" / "site_capacities.parquet")
    cap_mw = dict(zip(sites["year"].astype(str), sites["grid_import_cap_mw"], strict=True))
    assert cap_mw == {"2026": 40.0, "2027": 60.0, "2028": 150.0, "2029": 150.0}
    year = op["year"].astype(str)
    assert (op["grid_import_mw"] <= year.map(cap_mw) + MW_TOL).all()  # every hour
    peak = op.groupby(year)["grid_import_mw"].max()
    # The interim connection binds in 2026 or 2027 and the battery carries the afternoon peak (to
    # within the 0.5% MIP gap the plan is solved to: whole racks may leave a sliver unused); in
    # a year it does not bind the battery the later year needs shaves the demand-charged peak.
    assert max(peak["2026"] / 40.0, peak["2027"] / 60.0) == pytest.approx(1.0, rel=5e-3)
    assert sites["battery_mwh"].max() > 1.0
    interim = op[op["year"].astype(str).isin(["2026", "2027"])]
    assert interim["discharge_mw"].max() > 1.0
    pue = load_scenario(US).raw.sites[0].pue.value
    facility_mw = interim["it_power_mw"] * pue
    assert (facility_mw > interim["grid_import_mw"] + 1.0).any()  # the battery carries > 1 MW


def test_us_lp_builds_the_battery() -> None:
    lp = plan_json(US, "--relax")
    assert lp["unserved_tokens"] == pytest.approx(0.0, abs=1e3)
    assert max(s["battery_mwh"] for s in lp["sites"]) > 1.0
    assert lp["costs"]["battery_capex"] > 0


def test_a_misspelt_key_in_a_flagship_exits_2_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "sea.yaml"
    bad.write_text(SEA.read_text().replace("it_max:", "it_maxx:", 1))
    code, _, err = run("plan", str(bad), "--relax")
    assert code == 2
    assert "sea.yaml" in err and "it_maxx" in err and "Fix:" in err


def test_the_binding_tpp_cap_names_its_country() -> None:
    capped = plan_json(SEA, "--relax", "--regime", DIFFUSION)
    caps = [b for b in capped["binding"] if b["constraint"] == "tpp_cap"]
    assert caps and all(b["country"] == "SG" and "the SG country cap" in b["text"] for b in caps)
