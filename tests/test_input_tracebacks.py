"""Inputs that used to end in a traceback now exit 2 naming the file and the field.

- a site file with an unknown time zone (ZoneInfoNotFoundError from pandas in the solar model);
- a part profile with a zero dense peak (ZeroDivisionError in the serving model).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from planner.sites.solar import known_timezone

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "scenarios/sites/guangdong_zhongshan.yaml"  # a pvlib solar site
PART = REPO / "hardware_profiles/nvidia/a100-sxm.yaml"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "", "Asia/Shanghaii"])
def test_site_with_an_unknown_timezone_is_exit_2_naming_the_field(
    tmp_path: Path, zone: str
) -> None:
    text = SITE.read_text(encoding="utf-8")
    site = tmp_path / "site.yaml"
    site.write_text(re.sub(r"(?m)^timezone: .*$", f"timezone: '{zone}'", text), encoding="utf-8")
    out = tmp_path / "run"
    code, output = _run("site", "size", str(site), "--out", str(out))
    assert code == 2, output
    assert f"{site}: timezone: '{zone}' is not an IANA time zone" in output
    assert "Traceback" not in output and "ZoneInfo" not in output
    assert not out.exists()


def test_known_timezone_accepts_iana_names_only() -> None:
    assert known_timezone("Asia/Shanghai") and known_timezone("UTC")
    assert not known_timezone("Mars/Olympus") and not known_timezone("/etc/localtime")


@pytest.mark.parametrize("value", ["0 TFLOPS", "0.0 TFLOPS"])
def test_part_with_a_zero_peak_is_exit_2_naming_the_field(tmp_path: Path, value: str) -> None:
    overlay = tmp_path / "overlay"
    target = overlay / "hardware_profiles/nvidia/a100-sxm.yaml"
    target.parent.mkdir(parents=True)
    shutil.copy(PART, target)
    text = PART.read_text(encoding="utf-8").replace(
        "bf16: {value: 312 TFLOPS", f"bf16: {{value: {value}"
    )
    target.write_text(text, encoding="utf-8")
    for command in (
        ("serving", "estimate", "--part", "a100-sxm", "--workload", "llama-3.1-70b"),
        ("hardware", "show", "a100-sxm"),
    ):
        code, output = _run(*command, "--profiles", str(overlay))
        assert code == 2, (command, output)
        assert f"{target}: peak_dense.bf16.value: {value!r}" in output
        assert "a dense peak the part delivers must be above 0" in output
        assert "Traceback" not in output and "ZeroDivision" not in output
