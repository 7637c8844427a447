"""`planner plan` and `planner demand show`: JSON keys, the table, exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "scenarios" / "tiny" / "one_site_two_parts.yaml"
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"
FLAGSHIP = ROOT / "scenarios" / "cn_maas_2026.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_json_has_the_documented_keys() -> None:
    code, out, _ = run("plan", str(TINY), "--format", "json", "--relax")
    assert code == 0
    data = json.loads(out)
    for key in (
        "verdict",
        "demand_met",
        "status",
        "net_present_cost",
        "cost_per_million_served_tokens",
        "unserved_share_fraction",
        "unserved_penalty",
        "objective",
        "unserved_tokens",
        "mip_gap",
        "parts",
        "sites",
        "backend",
        "solver",
        "build_s",
        "solve_s",
        "binding",
        "estimate_share",
        "currency",
        "notes",
    ):
        assert key in data, key
    assert data["status"] == "optimal"
    assert data["backend"] == "cvxpy" and data["solver"] == "highs"
    assert data["mip_gap"] is None  # the LP
    assert set(data["parts"][0]) == {"part", "kind", "server", "site", "year", "count"}
    assert {"site", "year", "it_mw", "solar_mw", "battery_mwh", "battery_mw"} <= set(
        data["sites"][0]
    )
    assert len(data["sites"]) == 2  # one site x two years


def test_plan_table_and_pyomo_backend_and_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run(
        "plan", str(CN), "--backend", "pyomo", "--mip-gap", "0.001", "--out", str(out), "--report"
    )
    assert code == 0, stderr
    assert "net_present_cost" in stdout and "parts bought" in stdout
    assert "pyomo / highs" in stdout
    assert (out / "run.json").is_file() and (out / "summary.json").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"] == "pyomo"
    tables = {p.stem for p in (out / "tables").glob("*.parquet")}
    assert tables == {
        "fleet",
        "purchases",
        "site_capacities",
        "dispatch",
        "costs",
        "yearly",
        "parts",
        "shadow_prices",
        "unserved",
    }  # the schemas of docs/results.md
    purchases = pd.read_parquet(out / "tables" / "purchases.parquet")
    bought = {(p["part"], p["site"], p["year"]): p["count"] for p in summary["parts"]}
    assert purchases["units_count"].sum() == pytest.approx(sum(bought.values()))
    assert "Running HiGHS" in (out / "solver.log").read_text(encoding="utf-8")
    resolved = json.loads((out / "resolved_inputs.json").read_text(encoding="utf-8"))
    assert resolved["assumptions"], "every sourced scenario figure is listed with its source"
    assert all(a["confidence"] for a in resolved["assumptions"])
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 4  # fleet, capacities, cost per Mtok, parts scatter


def test_plan_regime_flag_changes_the_plan() -> None:
    _, base, _ = run("plan", str(CN), "-f", "json", "--relax")
    code, fixed, _ = run("plan", str(CN), "-f", "json", "--relax", "--regime", "us-2025-04")
    assert code == 0
    assert {p["part"] for p in json.loads(fixed)["parts"]} == {"zhenwu-ppu"}
    assert json.loads(fixed)["net_present_cost"] > json.loads(base)["net_present_cost"]


def test_schema_error_exits_2_naming_file_field_and_fix(tmp_path: Path) -> None:
    data = yaml.safe_load(TINY.read_text())
    data["sites"][0]["pue_value"] = 1.3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, out, err = run("plan", str(bad))
    assert code == 2
    assert f"{bad}: sites[0].pue_value: Extra inputs are not permitted." in err
    assert "Fix:" in err
    assert "Traceback" not in out + err


def test_unknown_part_exits_2_with_a_suggestion(tmp_path: Path) -> None:
    data = yaml.safe_load(TINY.read_text())
    data["parts"][0]["part"] = "h2O"
    bad = tmp_path / "typo.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, _, err = run("plan", str(bad))
    assert code == 2
    assert "parts[0].part: 'h2O' is not in the hardware catalogue. Fix: did you mean 'h20'?" in err


def test_bad_flag_values_exit_2() -> None:
    code, _, err = run("plan", str(TINY), "--mip-gap", "2")
    assert code == 2 and "--mip-gap" in err


def test_demand_show_numbers_by_hand() -> None:
    """cn_two_parts: 2e10 tokens/day in 2026, doubling a year; flat day; output share 0.25.
    2027: 4e10/day; mean = peak = 4e10 / 86,400 = 462,963 tokens/s; output 1e10/day."""
    code, out, _ = run("demand", "show", str(CN), "--format", "json")
    assert code == 0
    rows = {r["period"]: r for r in json.loads(out)}
    assert rows["2026"]["tokens_per_day"] == pytest.approx(2e10)
    assert rows["2027"]["tokens_per_day"] == pytest.approx(4e10)
    assert rows["2027"]["output_tokens_per_day"] == pytest.approx(1e10)
    assert rows["2027"]["peak_tokens_per_s"] == pytest.approx(4e10 / 86_400)
    assert rows["2027"]["latency"] == "batch"


def test_demand_show_flagship_table() -> None:
    code, out, _ = run("demand", "show", str(FLAGSHIP))
    assert code == 0
    assert "chat" in out and "agents" in out and "2030" in out


def test_demand_show_bad_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: x\ncurrency: [unclosed\n")
    code, _, err = run("demand", "show", str(bad))
    assert code == 2
    assert "malformed YAML" in err


def test_infeasible_plan_exits_2_in_domain_words(tmp_path: Path) -> None:
    """A site already larger than its maximum contradicts itself: no plan, a diagnosis."""
    data = yaml.safe_load(TINY.read_text())
    data["sites"][0]["it_max"]["value"] = "5 MW"  # it_existing is 10 MW
    bad = tmp_path / "contradiction.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, out, err = run("plan", str(bad), "--relax")
    assert code == 2
    assert "no feasible solution" in err
    assert "site test-site already holds more IT MW than its it_max." in err
    assert "Traceback" not in out + err


def test_a_shipped_scenario_is_found_by_name_and_a_missing_one_exits_2() -> None:
    code, out, _ = run("demand", "show", "cn_maas_2026", "-f", "json")
    assert code == 0 and json.loads(out)[0]["workload"] == "chat"
    code, _, err = run("plan", "cn_maas_2O26")
    assert code == 2
    assert "cn_maas_2O26: scenario file not found." in err and "cn_maas_2026" in err
