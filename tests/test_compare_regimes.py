"""`planner compare-regimes`: the tiny Chinese scenario under the April-2025 H20 licence
requirement (us-2025-04: the H20 is denied) and under the August-2025 licences with a 15% revenue
share (us-2025-08: the H20 is allowed with a fee), run as a real sweep on a local Dask cluster
with HiGHS. The mix must move off the H20 and the cost must rise where the H20 is denied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from test_sweep_summary import write_sweep_folder
from typer.testing import CliRunner

from cli.app import PlannerGroup
from cli.compare_regimes import compare_regimes_command
from planner.errors import InputError, UnknownName
from planner.sweeps.regimes_compare import (
    RegimeComparison,
    check_regimes,
    compare_regimes,
    default_compare_dir,
    read_comparison,
    side_by_side,
)

ROOT = Path(__file__).resolve().parent.parent
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"
DENIED, FEES = "us-2025-04", "us-2025-08"


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> RegimeComparison:
    out = tmp_path_factory.mktemp("compare") / "cn"
    return compare_regimes(CN, [DENIED, FEES], out=out, workers=2, relax=True)


def test_every_regime_solves_in_its_own_run(compared: RegimeComparison) -> None:
    assert [r.regime for r in compared.results] == [DENIED, FEES]
    assert [r.status for r in compared.results] == ["ok", "ok"]
    assert compared.outcome is not None and compared.outcome.done == 2
    for r in compared.results:
        assert r.run is not None and (r.run / "run.json").is_file()
        assert r.final_period == "2027" and r.currency == "USD"


def test_denying_the_h20_moves_the_mix_to_the_domestic_part_at_a_cost(
    compared: RegimeComparison,
) -> None:
    denied, fees = compared.results
    assert denied.forbidden_parts == ["h20"]
    assert fees.forbidden_parts == []
    assert "h20" not in denied.parts_installed
    assert denied.parts_installed["zhenwu-ppu"] > 0
    assert fees.parts_installed["h20"] > 0
    assert denied.cost_per_million_served_tokens > fees.cost_per_million_served_tokens * (1 + 1e-6)
    assert denied.net_present_cost > fees.net_present_cost * (1 + 1e-6)
    assert any(rule.startswith(DENIED) for rule in denied.rules)
    # the demand is met either way (unserved demand is priced at 1,000 USD per Mtok)
    assert denied.unserved_tokens == pytest.approx(0.0, abs=1.0)


def test_side_by_side_has_one_column_per_regime(compared: RegimeComparison) -> None:
    rows = {r["metric"]: r for r in side_by_side(compared.results)}
    assert list(rows["status"])[2:] == [DENIED, FEES]
    assert rows["parts_installed: h20"][DENIED] == 0.0
    assert rows["parts_installed: h20"][FEES] > 0
    assert rows["parts_not_allowed"][DENIED] == "h20"
    assert rows["parts_not_allowed"][FEES] == "none"
    assert rows["cost_per_million_served_tokens"]["unit"] == "USD per million tokens"


def app() -> typer.Typer:
    """The command as the lead registers it, with the app's error handling."""
    cli = typer.Typer(cls=PlannerGroup, pretty_exceptions_enable=False)
    cli.command("compare-regimes")(compare_regimes_command)
    cli.command("unused")(lambda: None)
    return cli


def test_command_rerun_resumes_and_prints_json(compared: RegimeComparison) -> None:
    result = CliRunner().invoke(
        app(),
        [
            "compare-regimes",
            str(CN),
            "--regime",
            DENIED,
            "--regime",
            FEES,
            "--relax",
            "--out",
            str(compared.folder),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["solved"], data["skipped"]) == (0, 2)  # nothing recomputed
    by_regime = {r["regime"]: r for r in data["regimes"]}
    assert by_regime[DENIED]["parts_not_allowed"] == ["h20"]
    assert by_regime[FEES]["parts_installed"]["h20"] > 0
    assert by_regime[DENIED]["cost_per_million_served_tokens"] == pytest.approx(
        compared.results[0].cost_per_million_served_tokens
    )
    args = ["compare-regimes", str(CN), "--regime", DENIED, "--regime", FEES, "--relax"]
    csv = CliRunner().invoke(app(), [*args, "--out", str(compared.folder), "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    lines = csv.stdout.splitlines()
    assert lines[0] == f"metric,unit,{DENIED},{FEES}"
    assert 'parts_not_allowed,"first period, all sites",h20,none' in lines


def test_a_failed_regime_keeps_its_column_and_shows_its_error(tmp_path: Path) -> None:
    cases = [
        {"regime": FEES, "cost_per_million_served_tokens": 0.5, "net_present_cost": 10.0},
        {"regime": DENIED, "status": "failed", "error": "plan infeasible: <no part allowed>"},
    ]
    folder = write_sweep_folder(tmp_path / "sweep", cases, ["regime"])
    comparison = read_comparison(folder, [DENIED, FEES])
    denied, fees = comparison.results
    assert (denied.status, denied.run, denied.parts_installed) == ("failed", None, {})
    assert fees.status == "ok" and fees.cost_per_million_served_tokens == 0.5
    rows = {r["metric"]: r for r in side_by_side(comparison.results)}
    assert rows["error"][DENIED] == "plan infeasible: <no part allowed>"
    assert rows["net_present_cost"][DENIED] is None
    with pytest.raises(InputError, match="no case for regime 'us-2026-01'"):
        read_comparison(folder, [DENIED, "us-2026-01"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--regime", DENIED], "two or more"),
        (["--regime", DENIED, "--regime", DENIED], "given twice"),
        (["--regime", DENIED, "--regime", "us-2025-09"], "did you mean"),
        (["--regime", DENIED, "--regime", FEES, "--mip-gap", "2"], "--mip-gap"),
    ],
)
def test_bad_regimes_exit_2_with_one_paragraph(args: list[str], says: str) -> None:
    result = CliRunner().invoke(app(), ["compare-regimes", str(CN), *args])
    assert result.exit_code == 2, result.output
    assert says in result.stderr and "Traceback" not in result.output


def test_check_regimes_names_the_option_and_the_fix() -> None:
    with pytest.raises(InputError) as caught:
        check_regimes(["us-2025-04"])
    problem = caught.value.problems[0]  # the domain names its parameter; the CLI its flag
    assert (problem.field, problem.option) == ("regime", True)
    with pytest.raises(UnknownName):
        check_regimes(["us-2025-04", "uk-2025-01"])


def test_default_folder_is_named_after_scenario_and_regimes(tmp_path: Path) -> None:
    folder = default_compare_dir(CN, [DENIED, FEES], tmp_path)
    assert folder == tmp_path / "compare-cn_two_parts-us-2025-04-us-2025-08"
