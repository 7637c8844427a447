"""Rule overlays: `planner export regimes new` writes a starter that changes nothing, and the
worked what-if of docs/export_rules.md (tightening in 2027) does what the page says."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "export_rules.md"
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def classify(date: str, *overlay: str) -> dict[str, dict]:
    args = ("export", "classify", "h200", "h20", "--buyer", "CN", "--date", date)
    code, out, err = run(*args, "--format", "json", *overlay)
    assert code == 0, err
    return {row["part"]: row for row in json.loads(out)}


def decided(row: dict) -> tuple:
    fees = row["fees"]
    return (
        row["status"],
        row["review_policy"],
        fees["duty_fraction"],
        fees["revenue_share_fraction"],
    )


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("overlay")
    (root / "export_regimes").mkdir()
    out = root / "export_regimes" / "us-2027-01.yaml"
    code, _, err = run("export", "regimes", "new", "--from", "us-2026-01", "--out", str(out))
    assert code == 0, err
    return root


def test_the_starter_extends_its_parent_from_the_next_year_and_changes_nothing(
    starter: Path,
) -> None:
    text = (starter / "export_regimes" / "us-2027-01.yaml").read_text()
    assert "controls: []" in text and "#   - id: case-by-case-h200-mi325x" in text
    assert "h20-class-licence  (export_licence, licence_required, approval" in text
    code, out, err = run("export", "regimes", "--format", "json", "--profiles", str(starter))
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows["us-2027-01"]["extends"] == "us-2026-01"
    assert rows["us-2027-01"]["effective"] == "2027-01-01"
    assert rows["us-2026-01"]["end"] == "2027-01-01"  # the overlay takes over from its date
    assert "What-if" in rows["us-2027-01"]["title"]
    with_overlay = classify("2027-06-01", "--profiles", str(starter))
    without = classify("2027-06-01")
    for part in ("h200", "h20"):
        assert decided(with_overlay[part]) == decided(without[part])
    assert "us-2027-01" in run(
        "export", "classify", "h20", "--buyer", "CN", "--date", "2027-06-01",
        "--profiles", str(starter),
    )[1]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "us-2026-02"), "--from: 'us-2026-02' is not a snapshot."),
        (("--out", "{dir}/us-2026-01.yaml"), "is the id of an existing snapshot"),
        (("--out", "{dir}/My Rules.yaml"), "is not <id>.yaml with a lowercase id"),
        (("--effective", "2025-12-31"), "--effective: 2025-12-31 is not after us-2026-01"),
        (("--out", "{dir}/missing/us-2027-01.yaml"), "its folder does not exist"),
    ],
)
def test_bad_overlay_requests_exit_2_and_write_nothing(
    args: tuple[str, str], message: str, tmp_path: Path
) -> None:
    options = {"--from": "us-2026-01", "--out": f"{tmp_path}/us-2027-01.yaml"}
    options[args[0]] = args[1].format(dir=tmp_path)
    flat = [item for pair in options.items() for item in pair]
    code, _, err = run("export", "regimes", "new", *flat)
    assert code == 2 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_overlay_is_kept_without_force(starter: Path) -> None:
    path = starter / "export_regimes" / "us-2027-01.yaml"
    before = path.read_text()
    code, _, err = run("export", "regimes", "new", "--from", "us-2026-01", "--out", str(path))
    assert code == 2 and "--force" in err and path.read_text() == before


@pytest.fixture(scope="module")
def tightened(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The overlay of the worked what-if, read from docs/export_rules.md."""
    page = DOC.read_text(encoding="utf-8")
    section = page[page.index("### Worked what-if: tightening in 2027") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    root = tmp_path_factory.mktemp("tight")
    (root / "export_regimes").mkdir()
    (root / "export_regimes" / "us-2027-01.yaml").write_text(block.group(1), encoding="utf-8")
    return root


def test_the_worked_what_if_classifies_as_the_page_says(tightened: Path) -> None:
    before = classify("2026-06-01", "--profiles", str(tightened))
    assert decided(before["h200"]) == ("licence_required", "case_by_case", 0.25, 0.0)
    assert before["h200"]["rule"] == "us-2026-01/case-by-case-h200-mi325x"
    assert decided(before["h20"]) == ("licence_required", "approval", 0.0, 0.15)
    after = classify("2027-06-01", "--profiles", str(tightened))
    for part, control in (("h200", "case-by-case-h200-mi325x"), ("h20", "h20-class-licence")):
        assert after[part]["review_policy"] == "presumption_of_denial"
        assert after[part]["rule"] == f"us-2027-01/{control}"


def test_scenario_check_shows_the_tightening(tightened: Path) -> None:
    code, out, err = run(
        "scenario", "check", "cn_maas_2026", "--format", "json", "--profiles", str(tightened)
    )
    assert code == 0, err
    parts = {p["part"]: p for p in json.loads(out)["parts"]}
    assert parts["h200"]["2026"] == "3/5 sites, +25% fees, cap 20,000"
    assert parts["h20"]["2026"] == "3/5 sites, +15% fees"
    assert all(parts[p][y] == "no" for p in ("h200", "h20") for y in ("2027", "2030"))


def test_a_plan_under_the_what_if_buys_no_h20_in_2027(tightened: Path) -> None:
    def h20_bought(*overlay: str) -> dict[str, float]:
        code, out, err = run("plan", str(CN), "--relax", "--format", "json", *overlay)
        assert code == 0, err
        bought: dict[str, float] = {}
        for row in json.loads(out)["parts"]:
            if row["part"] == "h20":
                bought[row["year"]] = bought.get(row["year"], 0.0) + row["count"]
        return bought

    assert h20_bought().get("2027", 0.0) > 1  # the base plan does buy H20s in 2027
    tight = h20_bought("--profiles", str(tightened))
    assert tight.get("2027", 0.0) == 0.0 and tight.get("2026", 0.0) > 1
