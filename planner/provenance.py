"""Provenance of every figure: where it comes from and how sure we are.

A profile writes a figure as `{value, source, confidence, note}`. `source` names an entry of the
file's `sources:` table (or is a URL). `confidence` is `datasheet` (vendor document or rule text),
`press` (reputable press, analyst or third-party reproduction) or `estimate` (ours; the note says
how it was made). An unknown figure is `value: null` with a note saying what is missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

Confidence = Literal["datasheet", "press", "estimate", "measured"]


class SourceIn(BaseModel):
    """One cited document."""

    model_config = ConfigDict(extra="forbid")
    title: str
    url: str | None = None
    date: str | None = None


class FigureIn(BaseModel):
    """A figure as written in a profile file."""

    model_config = ConfigDict(extra="forbid")
    value: str | float | int | dt.date | None
    source: str | None = None
    confidence: Confidence | None = None
    note: str | None = None

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
