"""`planner scenario check` and `planner scenario new`: validate without solving, starters that
check and solve, errors naming file, field by key, and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cli.app import app
from planner.plan.outline import keyed_field, placeholder_count, status_text
from planner.plan.starter import parse_years, zone_of

ROOT = Path(__file__).resolve().parent.parent
CN = ROOT / "scenarios" / "tiny" / "cn_two_parts.yaml"
FLAGSHIP = ROOT / "scenarios" / "cn_maas_2026.yaml"
STARTER = (
    "--buyer", "CN", "--parts", "h20,ascend-910c", "--workload", "qwen3-30b-a3b",
    "--tokens-per-day", "2e10", "--years", "2026-2027", "--name", "my-cn",
)  # fmt: skip


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("starter") / "my.yaml"
    code, _, err = run("scenario", "new", "--out", str(out), *STARTER)
    assert code == 0, err
    assert "14 placeholder figures" in " ".join(err.split())  # the console wraps long paths
    return out


def test_check_shows_what_the_plan_would_hold_without_solving() -> None:
    code, out, err = run("scenario", "check", str(FLAGSHIP), "--format", "json")
    assert code == 0, err
    found = json.loads(out)
    assert found["years"] == ["2026", "2027", "2028", "2029", "2030"]
    assert [w["workload"] for w in found["workloads"]] == ["chat", "agents", "video"]
    assert found["workloads"][0]["tokens_per_day_2026"] == pytest.approx(3.0e12)  # the file's
    parts = {p["part"]: p for p in found["parts"]}
    # h200: allowed with the 25% fee at the three private sites only, 20,000 a year
    assert parts["h200"]["2027"] == "3/5 sites, +25% fees, cap 20,000"
    assert parts["h200"]["never_at"] == "inner-mongolia-horinger, guizhou-guian"
    assert parts["ascend-910c"]["2030"] == "yes, cap 30,000"
    assert parts["zhenwu-ppu"]["2026"] == "yes"  # sold within the Alibaba group: the buyer is in it
    detail = found["parts_detail"]["h20"]["2026"]
    assert detail["fee_fraction"] == pytest.approx(0.15) and detail["supply_cap_parts"] is None
    sites = {s["site"]: s for s in found["sites"]}
    assert sites["inner-mongolia-horinger"]["price_per_mwh"] == pytest.approx(190.0)  # 380 x 0.5
    assert "us-2025-08/h20-class-licence" in found["rules"]
    assert found["placeholders"] == 0 and found["notes"]


def test_check_prints_tables_and_the_rules(tmp_path: Path) -> None:
    code, out, err = run("scenario", "check", str(CN))
    assert code == 0, err
    assert "scenario check: valid" in out and "parts: may they be bought" in out
    assert "rules that decide purchases" in err


def test_check_names_list_entries_by_key_and_exits_2(tmp_path: Path) -> None:
    data = yaml.safe_load(CN.read_text())
    data["parts"][1]["lifetime_year"] = data["parts"][1].pop("lifetime_years")
    data["sites"][0]["pue"] = {"value": "1.3 MW", "source": "test", "confidence": "estimate"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    code, out, err = run("scenario", "check", str(bad))
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"{bad}: parts.zhenwu-ppu.lifetime_years: Field required. Fix: add this field." in err
    assert "parts.zhenwu-ppu.lifetime_year: Extra inputs are not permitted" in err
    assert "parts[1]" not in err


def test_keyed_fields_follow_the_names_written() -> None:
    data = {"parts": [{"part": "h20"}, {"part": "b200"}], "sites": [{"name": "gd", "grid": {}}]}
    assert keyed_field("parts[1].supply_cap_parts.2027", data) == "parts.b200.supply_cap_parts.2027"
    assert keyed_field("sites[0].grid.import_cap", data) == "sites.gd.grid.import_cap"
    assert keyed_field("parts[7].part", data) == "parts[7].part"  # no such entry: as given
    assert keyed_field("rules.buyer.country", data) == "rules.buyer.country"


def test_part_status_in_words() -> None:
    status = {"sites": ["a", "b"], "fee_fraction": 0.25, "supply_cap_parts": 20000.0}
    assert status_text(status, 5) == "2/5 sites, +25% fees, cap 20,000"
    assert status_text(status | {"sites": []}, 5) == "no"
    assert status_text({"sites": ["a"], "fee_fraction": 0.0, "supply_cap_parts": None}, 1) == "yes"


def test_starter_marks_every_figure_it_did_not_get_as_a_placeholder(starter: Path) -> None:
    text = starter.read_text()
    data = yaml.safe_load(text)
    assert data["demand"]["workloads"][0]["tokens_per_day"] == 2.0e10  # as given
    assert data["demand"]["horizon"] == {"start": 2026, "end": 2027}
    assert [p["part"] for p in data["parts"]] == ["h20", "ascend-910c"]
    assert all("price_per_part" not in p for p in data["parts"])  # the profiles' prices
    figures = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "value" in node and "source" in node:
                figures.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in data.items() if k != "sources"})
    assert len(figures) == placeholder_count(data) == 14
    for figure in figures:
        assert figure["source"] == "placeholder" and figure["confidence"] == "estimate"
        assert figure["note"].startswith("PLACEHOLDER") and "not a fact" in figure["note"]
    site = data["sites"][0]
    assert (site["timezone"], site["province"]) == ("Asia/Shanghai", "Shanghai")  # zone.tab
    assert "PLACEHOLDER: the coordinates of Shanghai" in text


def test_starter_passes_check_and_solves_relaxed(starter: Path, tmp_path: Path) -> None:
    code, out, err = run("scenario", "check", str(starter), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["placeholders"] == 14
    code, out, err = run(
        "plan", str(starter), "--relax", "--format", "json", "--out", str(tmp_path / "run")
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "optimal" and result["demand_met"]
    assert result["net_present_cost"] > 0 and result["parts"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--buyer", "XX"), "--buyer: XX: is not a country code."),
        (("--parts", "h2o"), "unknown part 'h2o'; did you mean 'h20'?"),
        (("--workload", "qwen"), "unknown workload 'qwen'"),
        (("--years", "2028-2026"), "--years: '2028-2026' is not a span of years."),
        (("--tokens-per-day", "0"), "--tokens-per-day: 0.0: must be > 0."),
    ],
)
def test_bad_answers_exit_2_and_write_nothing(
    args: tuple[str, str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "x.yaml"
    answers = list(STARTER)
    flag = answers.index(args[0])
    answers[flag + 1] = args[1]
    code, _, err = run("scenario", "new", "--out", str(out), *answers)
    assert code == 2 and message in err and not out.exists()


def test_an_existing_file_is_kept_without_force(starter: Path) -> None:
    before = starter.read_text()
    code, _, err = run("scenario", "new", "--out", str(starter), *STARTER)
    assert code == 2 and "exists already" in err and "--force" in err
    assert starter.read_text() == before


def test_zone_table_and_years() -> None:
    zone = zone_of("SG")
    assert zone is not None and zone.timezone == "Asia/Singapore"
    assert zone.latitude_deg == pytest.approx(1 + 17 / 60) and zone.longitude_deg > 103
    assert zone_of("ZZ") is None
    assert parse_years("2026") == (2026, 2026) and parse_years(" 2026 - 2030 ") == (2026, 2030)
