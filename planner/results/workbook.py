"""A run folder as one Excel workbook, or as a folder of CSV files, for planners who work there.

In: a complete run folder (its `summary.json`, `resolved_inputs.json` and `tables/*.parquet`). Out:
`summary` (the headline, one quantity a row), one sheet per table with each column's unit in its
header ("it_power_mw [MW]", "capex [CNY]"), and for plans `assumptions` (every resolved figure with
its source, URL and confidence), `rules` and `notes`. Units come from the column names' suffixes
(the planner's naming rule) and money columns carry the run's currency.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from planner.atomic import atomic_write
from planner.errors import InputError
from planner.results.folders import Run

# Column-name suffix -> unit, longest match first (the planner names every quantity this way).
SUFFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("_per_mwh", "{currency}/MWh"),
    ("_per_mw_month", "{currency}/MW/month"),
    ("_per_million_served_tokens", "{currency}/Mtok"),
    ("_per_million_tokens", "{currency}/Mtok"),
    ("_cost_per_minute", "{currency}/min"),
    ("_per_mtok", "{currency}/Mtok"),
    ("_tokens_per_s", "tokens/s"),
    ("_per_joule", "per J"),
    ("_fraction", "fraction"),
    ("_mtok", "Mtok"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_kw", "kW"),
    ("_w", "W"),
    ("_tokens", "tokens"),
    ("_minutes", "min"),
    ("_count", "count"),
    ("_h", "h"),
    ("_s", "s"),
)
# Columns that are money in the run's currency though their names carry no suffix.
MONEY_COLUMNS = frozenset(
    {"capex", "cost", "energy_cost", "discounted_cost", "shadow_price", "net_present_cost"}
    | {"unserved_penalty", "objective"}
)
SHEET_NAME_MAX = 31  # Excel's limit


def column_unit(column: str, currency: str) -> str | None:
    """The unit a column's name declares, or None for ids, labels and counts of things."""
    if column in MONEY_COLUMNS or column.startswith("discounted_"):  # present values
        return currency
    for suffix, unit in SUFFIX_UNITS:
        if column.endswith(suffix):
            return unit.format(currency=currency)
    return None


def with_units(frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The same table with "name [unit]" headers where the name declares a unit."""
    names = {}
    for column in frame.columns:
        unit = column_unit(str(column), currency)
        names[column] = f"{column} [{unit}]" if unit else str(column)
    return frame.rename(columns=names)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise InputError.one(
            path, "", f"not valid JSON ({exc.msg}, line {exc.lineno}).", "re-run to rewrite it."
        ) from None


def _summary_rows(summary: Mapping[str, Any]) -> pd.DataFrame:
    """The headline: scalar quantities one a row, with units; nested ones as `costs.energy`."""
    currency = str(summary.get("currency", ""))
    rows: list[dict[str, Any]] = []
    for key, value in summary.items():
        if isinstance(value, Mapping):
            # `costs` holds money; `served_mtok_by_year` and the like take the unit of their name
            unit = (
                currency if key == "costs" else column_unit(key.removesuffix("_by_year"), currency)
            )
            rows += [
                {
                    "quantity": f"{key}.{k}",
                    "value": v,
                    "unit": unit,
                }
                for k, v in value.items()
                if not isinstance(v, Mapping | list)
            ]
        elif not isinstance(value, list):
            rows.append({"quantity": key, "value": value, "unit": column_unit(key, currency)})
    return pd.DataFrame(rows, columns=["quantity", "value", "unit"])


def run_sheets(run: Run) -> Iterator[tuple[str, pd.DataFrame]]:
    """(sheet name, table) pairs of a run, in reading order: headline, tables, inputs."""
    currency = str(run.summary.get("currency", ""))
    yield "summary", _summary_rows(run.summary)
    for name, table in sorted(run.table_files.items()):
        yield name[:SHEET_NAME_MAX], with_units(pd.read_parquet(table), currency)
    inputs = _read_json(run.path / "resolved_inputs.json") or {}
    if inputs.get("assumptions"):
        yield "assumptions", pd.DataFrame(inputs["assumptions"])
    for key in ("rules", "notes"):
        if inputs.get(key):
            yield key, pd.DataFrame({key.rstrip("s"): inputs[key]})


def write_workbook(run: Run, out: Path) -> Path:
    """Write every sheet of `run` into the Excel file `out`, atomically; return `out`."""
    sheets = list(run_sheets(run))

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as book:
            for name, frame in sheets:
                frame.to_excel(book, sheet_name=name, index=False)

    return atomic_write(out, write, keep_suffix=True)


def write_csv_folder(run: Run, out_dir: Path) -> list[Path]:
    """Write each sheet of `run` as `out_dir/<sheet>.csv` (UTF-8, headers with units)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in run_sheets(run):
        written.append(atomic_write(out_dir / f"{name}.csv", _csv_writer(frame)))
    return written


def _csv_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        frame.to_csv(tmp, index=False)

    return write
