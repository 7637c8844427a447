"""`planner export ...`: JSON shape, every shipped part listed, and user errors as exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.catalogue.parts import Catalogue
from planner.rules import RegimeLibrary

RUN = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return RUN.invoke(app, ["export", *args])


def test_classify_json_lists_every_shipped_part() -> None:
    result = invoke("classify", "--buyer", "CN", "--date", "2025-06-01", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sorted(r["part"] for r in rows) == sorted(Catalogue.load().parts)
    keys = {
        "part",
        "tpp",
        "performance_density",
        "eccn",
        "status",
        "review_policy",
        "fees",
        "rule",
        "arithmetic",
        "reasons",
    }
    for row in rows:
        assert keys <= row.keys()
        assert row["eccn"] in (None, "3A090.a", "3A090.b")
        assert row["status"] in ("no_licence", "notification", "licence_required")
        assert row["regimes"] == ["us-2025-05"]
    by_part = {r["part"]: r for r in rows}
    h100 = by_part["h100-sxm"]
    assert (h100["eccn"], h100["status"], h100["rule"]) == (
        "3A090.a",
        "licence_required",
        "us-2023-10/3a090a-datacenter-d5",
    )
    assert h100["tpp"] == pytest.approx(15832)


def test_classify_with_fixed_regime_and_csv() -> None:
    result = invoke(
        "classify", "a800", "h800", "--buyer", "cn", "--regime", "us-2022-10", "--format", "csv"
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("part,tpp,performance_density,eccn,status")
    assert all(",no_licence," in line for line in lines[1:])


def test_regimes_lists_ids_dates_and_citations() -> None:
    result = invoke("regimes", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {r.id for r in RegimeLibrary.load()}
    assert rows["us-2023-10"]["effective"] == "2023-11-17"
    assert rows["us-2023-10"]["end"] == "2024-12-02"
    assert "88 FR 73458" in rows["us-2023-10"]["citation"]
    assert rows["us-2026-01"]["end"] is None


def test_terms_prints_uplift_and_rules() -> None:
    result = invoke("terms", "h200", "--buyer", "CN", "--date", "2026-03-01", "--format", "json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout)
    assert row["allowed"] is True
    assert row["price_uplift_fraction"] == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "--buyer", "China", "--date", "2025-06-01"], "--buyer"),
        (["classify", "--buyer", "CN", "--date", "01/06/2025"], "--date"),
        (["classify", "--buyer", "CN", "--regime", "us-2023-1O"], "did you mean 'us-2023-10'"),
        (["classify", "h100-sx", "--buyer", "CN"], "did you mean 'h100-sxm'"),
    ],
)
def test_user_errors_exit_2_without_traceback(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_malformed_regime_overlay_exit_2(tmp_path: Path) -> None:
    folder = tmp_path / "export_regimes"
    folder.mkdir()
    (folder / "us-2030-01.yaml").write_text(
        "id: us-2030-01\njurisdiction: US\ntitle: t\neffective: 2030-01-01\ncitation: c\n"
        "sources: {}\nthresholds: {tpp: 1}\n",
        encoding="utf-8",
    )
    result = invoke("regimes", "--profiles", str(tmp_path))
    assert result.exit_code == 2
    assert "us-2030-01.yaml: thresholds" in result.output
    assert "Fix:" in result.output
