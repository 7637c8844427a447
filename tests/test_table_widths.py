"""Tables fit the terminal (issue 18): the columns that fit COLUMNS, never a cut number or a
column narrower than its header; `--wide` shows all and `--columns a,b` picks."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.app import app

CLASSIFY = ["export", "classify", "h20", "h200", "a800", "ascend-910c", "--buyer", "CN"]
COMPARE = ["hardware", "compare", "h20", "h200", "ascend-910c", "--workload", "qwen3-235b-a22b"]


def run(args: list[str], columns: int = 100) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


def header_cells(out: str) -> list[str]:
    line = next(x for x in out.splitlines() if x.lstrip().startswith("┃"))
    return [c.strip() for c in line.strip().strip("┃").split("┃")]


@pytest.mark.parametrize("args", [CLASSIFY, COMPARE], ids=["classify", "compare"])
@pytest.mark.parametrize("width", [80, 100, 120])
def test_no_line_is_wider_than_the_terminal(args: list[str], width: int) -> None:
    code, out, err = run([*args, "--date", "2026-06-01"] if args is CLASSIFY else args, width)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= width
    for cell in header_cells(out):  # every header whole: no column narrower than its name
        assert cell and " " not in cell, cell
    assert "more column" in out  # what was left out is named


def test_numbers_are_never_cut() -> None:
    _, wide, _ = run([*COMPARE, "--wide"])
    _, narrow, _ = run([*COMPARE, "--columns", "id,tpp,output_tokens_per_s_per_part"], 60)
    assert header_cells(narrow) == ["id", "tpp", "output_tokens_per_s_per_part"]
    assert all(n in narrow for n in ("15,832", "12,800", "2,368"))  # whole, at 60 columns
    assert "12,800" in wide and "more column" not in wide


def test_wide_shows_every_column_before_or_after_the_sub_command() -> None:
    _, after, _ = run([*CLASSIFY, "--wide"], 80)
    _, before, _ = run(["--wide", *CLASSIFY], 80)
    assert after == before
    assert {"rule", "buyer_rules", "duty_fraction"} <= set(header_cells(after))


def test_an_unknown_column_names_the_table_s_columns() -> None:
    code, _, err = run([*CLASSIFY, "--columns", "part,nosuch"])
    assert code == 2 and "nosuch" in err and "choose from: part, tpp" in err
