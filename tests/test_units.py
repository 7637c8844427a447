"""Unit parsing: one place turns profile strings into SI floats, or a file/field/fix error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner.errors import InputError
from planner.units import parse_quantity


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("700 W", "power", 700.0),
        ("1.2 kW", "power", 1200.0),
        ("3.35 TB/s", "bytes_per_s", 3.35e12),
        ("900 GB/s", "bytes_per_s", 9e11),
        ("96 GiB", "bytes", 96 * 2**30),
        ("80 GB", "bytes", 80e9),
        ("989 TFLOPS", "ops_per_s", 989e12),
        ("1979 TOPS", "ops_per_s", 1979e12),
        ("814 mm^2", "area_mm2", 814.0),
        ("1.5 MWh", "energy", 5.4e9),
    ],
)
def test_parses_to_si(text: str, dimension: str, expected: float) -> None:
    assert parse_quantity(text, dimension, file="f.yaml", field="x") == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "dimension", "says"),
    [
        ("70 GB", "power", "is not a power"),
        ("5 Hz", "bytes_per_s", "is not a bandwidth"),
        ("700", "power", "is not a power"),
        (700, "power", "has no unit"),
        ("abc W", "power", "not a quantity"),
        ("-5 W", "power", "negative"),
        (None, "power", "not a quantity"),
    ],
)
def test_wrong_values_name_file_field_and_fix(value: object, dimension: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_quantity(value, dimension, file="parts/x.yaml", field="tdp.value")
    message = str(caught.value)
    assert message.startswith("parts/x.yaml: tdp.value: ")
    assert says in message
    assert "Fix: " in message


def test_a_damaged_pint_cache_falls_back_to_parsing(tmp_path: Path) -> None:
    """pint's definition cache (user cache folder) is a speed-up only: a truncated file written
    by a concurrent process must not stop a command."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    probe = (
        "from planner.units import parse_quantity as p; "
        "print(p('700 W', 'power', file='f', field='x'))"
    )
    first = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert first.stdout.strip() == "700.0", first.stderr
    pickles = list(tmp_path.rglob("*.pickle"))
    assert pickles, "pint wrote no cache"
    for path in pickles:
        path.write_bytes(path.read_bytes()[:10])  # truncated mid-write
    again = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.strip() == "700.0", again.stderr
