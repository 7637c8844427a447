"""Provenance of every figure: where it comes from and how sure we are.

A profile writes a figure as `{value, source, confidence, note}`. `source` names an entry of the
file's `sources:` table (or is a URL). `confidence` is `datasheet` (vendor document or rule text),
`press` (reputable press, analyst or third-party reproduction) or `estimate` (ours; the note says
how it was made). An unknown figure is `value: null` with a note saying what is missing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator, model_validator
from pydantic_core import PydanticCustomError

from planner.errors import InputError, Problem
from planner.schema import StrictModel
from planner.units import Dimension, parse_quantity

Confidence = Literal["datasheet", "press", "estimate", "measured"]


class SourceIn(StrictModel):
    """One cited document."""

    title: str
    url: str | None = None
    date: str | None = None


class FigureIn(StrictModel):
    """A figure as written in a profile file."""

    value: str | float | int | dt.date | None
    source: str | None = None
    confidence: Confidence | None = None
    note: str | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _finite(cls, value: object) -> object:
        """NaN and infinity are not figures (YAML writes them .nan and .inf)."""
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError(
                "not_finite", "{value} is not a number a figure can hold", {"value": str(value)}
            )
        return value

    @model_validator(mode="after")
    def _provenance_complete(self) -> FigureIn:
        if self.value is None:
            if not self.note:
                raise ValueError(
                    "an unknown figure (value: null) needs a note saying what is missing"
                )
            return self
        if self.source is None or self.confidence is None:
            raise ValueError("a figure needs both 'source' and 'confidence'")
        if self.confidence == "estimate" and not self.note:
            raise ValueError("an estimate needs a note saying how it was made")
        return self


@dataclass(frozen=True)
class Source:
    """A document a figure cites: its key in the file's `sources:` table, title, URL and date."""

    key: str
    title: str
    url: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Where one loaded figure came from."""

    source: Source | None
    confidence: Confidence | None
    note: str | None = None

    def cite(self) -> str:
        """A one-line citation: title and URL, or the note for an unknown."""
        if self.source is None:
            return self.note or ""
        url = f" <{self.source.url}>" if self.source.url else ""
        return f"{self.source.title}{url}"


def resolve_source(key: str | None, table: dict[str, SourceIn]) -> Source | None:
    """A figure's `source` is a key of the file's `sources:` table, or a URL written inline."""
    if key is None:
        return None
    if key in table:
        entry = table[key]
        return Source(key=key, title=entry.title, url=entry.url, date=entry.date)
    return Source(key=key, title=key, url=key if key.startswith("http") else None)


class FigureReader:
    """Reads a profile's figures into SI values and provenance, collecting every problem.

    `raw` is a validated profile with a `sources:` table; subclasses add the assembly of
    their domain object (a part, a workload).
    """

    def __init__(self, raw: Any, path: Path):
        self.raw, self.path = raw, path
        self.problems: list[Problem] = []
        self.provenance: dict[str, Provenance] = {}

    def note(self, name: str, figure: FigureIn, field: str | None = None) -> None:
        """Keep the figure's provenance under `name`; a bad source is reported at `field` (the
        key in the file, when it differs from the SI name)."""
        if figure.source is not None and not (
            figure.source in self.raw.sources or figure.source.startswith("http")
        ):
            self.problems.append(
                Problem(
                    str(self.path),
                    f"{field or name}.source",
                    f"'{figure.source}' is neither a key of 'sources:' nor a URL.",
                    "add it to the file's 'sources:' table or write the URL.",
                )
            )
        self.provenance[name] = Provenance(
            resolve_source(figure.source, self.raw.sources), figure.confidence, figure.note
        )

    def quantity(
        self, field: str, name: str, figure: FigureIn | None, dim: Dimension
    ) -> float | None:
        """A quantity with a unit in SI (W, bytes/s, ...) under `name`; None when absent or null."""
        if figure is None:
            return None
        self.note(name, figure, field)
        if figure.value is None:
            return None
        try:
            return parse_quantity(figure.value, dim, file=self.path, field=f"{field}.value")
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def number(self, field: str, figure: FigureIn | None, *, integer: bool = False) -> float | None:
        """A plain number (its range is the schema's, planner.schema.Bounds)."""
        if figure is None:
            return None
        self.note(field, figure)
        if figure.value is None:
            return None
        value = figure.value
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or (integer and int(value) != value)
        ):
            want = "a whole number" if integer else "a plain number"
            self.problems.append(
                Problem(
                    str(self.path),
                    f"{field}.value",
                    f"{figure.value!r} is not {want}.",
                    f"write {want} without a unit.",
                )
            )
            return None
        return int(value) if integer else float(value)

    def count(self, field: str, figure: FigureIn | None) -> int | None:
        """A whole number (cores, devices): `number` with `integer=True`, typed as an int."""
        value = self.number(field, figure, integer=True)
        return None if value is None else int(value)

    def fraction(self, field: str, figure: FigureIn | None) -> float | None:
        """A fraction of peak, in (0, 1] by the schema's range (planner.catalogue.PEAK)."""
        return self.number(field, figure)

    def text(self, field: str, figure: FigureIn) -> str | None:
        """A text figure (a name, a form factor), or None when null."""
        self.note(field, figure)
        return None if figure.value is None else str(figure.value)

    def date(self, field: str, figure: FigureIn) -> dt.date | None:
        """A date written as YYYY-MM-DD, YYYY-MM or YYYY (the first of the month or year)."""
        self.note(field, figure)
        value = figure.value
        if value is None:
            return None
        for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
            try:
                return dt.datetime.strptime(str(value), fmt).date()
            except ValueError:
                continue
        self.problems.append(
            Problem(
                str(self.path),
                f"{field}.value",
                f"'{value}' is not a date.",
                "write YYYY-MM-DD, YYYY-MM or YYYY.",
            )
        )
        return None
