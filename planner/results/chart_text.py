"""Text in charts: how wide a label is drawn, wrapping it to a width, and boxes that must not
overlap.

Widths come from the advance widths of DejaVu Sans (per 1,000 units of the font size, measured
in headless Chromium with the report's font stack, where DejaVu Sans is the sans-serif it falls
back to on Debian). Helvetica and Arial set Latin letters narrower (their AFM widths: 'a' 556,
'n' 556 against DejaVu's 613 and 634), so a label measured here has room to spare where they are
used; characters outside the table count as 0.7 em (1 em for wide East Asian ones).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from html import escape

FONT_PX = 11.0  # svg text in the report's CSS
LINE_PX = 13.0  # distance between wrapped lines at FONT_PX

_WIDTHS = {
    " ": 318, "!": 401, '"': 460, "#": 838, "$": 636, "%": 950, "&": 780, "'": 275, "(": 390,
    ")": 390, "*": 500, "+": 838, ",": 318, "-": 361, ".": 318, "/": 337, ":": 337, ";": 337,
    "<": 838, "=": 838, ">": 838, "?": 531, "@": 1000, "[": 390, "\\": 337, "]": 390, "^": 838,
    "_": 500, "`": 500, "{": 636, "|": 337, "}": 636, "~": 838,
    "A": 684, "B": 686, "C": 698, "D": 770, "E": 632, "F": 575, "G": 775, "H": 752, "I": 295,
    "J": 295, "K": 656, "L": 557, "M": 863, "N": 748, "O": 787, "P": 603, "Q": 787, "R": 695,
    "S": 635, "T": 611, "U": 732, "V": 684, "W": 989, "X": 685, "Y": 611, "Z": 685,
    "a": 613, "b": 635, "c": 550, "d": 635, "e": 615, "f": 352, "g": 635, "h": 634, "i": 278,
    "j": 278, "k": 579, "l": 278, "m": 974, "n": 634, "o": 612, "p": 635, "q": 635, "r": 411,
    "s": 521, "t": 392, "u": 634, "v": 592, "w": 818, "x": 592, "y": 592, "z": 525,
    **dict.fromkeys("0123456789", 636),
}  # fmt: skip


def char_width_em(char: str) -> float:
    """Advance width of one character in em (font size = 1)."""
    known = _WIDTHS.get(char)
    if known is not None:
        return known / 1000.0
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.7


def text_width_px(text: str, font_px: float = FONT_PX) -> float:
    """Drawn width of a one-line label in pixels at `font_px`."""
    return sum(char_width_em(c) for c in text) * font_px


def _split_long(word: str, max_px: float, font_px: float) -> list[str]:
    """A word wider than the line cut into pieces that fit (last resort: ids without breaks)."""
    pieces, current = [], ""
    for char in word:
        if current and text_width_px(current + char, font_px) > max_px:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces


def wrap_text(text: str, max_px: float, font_px: float = FONT_PX) -> list[str]:
    """Lines of at most `max_px`, broken at spaces, then after '-', '_' or '/' inside an id,
    and cut only where a single piece is wider than the line. Nothing is dropped: joining the
    lines gives back the words of `text`."""
    words: list[str] = []
    for word in text.split():
        if text_width_px(word, font_px) <= max_px:
            words.append(word)
            continue
        part = ""
        for char in word:
            part += char
            if char in "-_/":
                words.append(part)
                part = ""
        if part:
            words.append(part)
    lines: list[str] = []
    for word in words:
        glue = "" if lines and lines[-1][-1:] in "-_/" else " "
        joined = f"{lines[-1]}{glue}{word}" if lines else word
        if lines and text_width_px(joined, font_px) <= max_px:
            lines[-1] = joined
        elif text_width_px(word, font_px) <= max_px:
            lines.append(word)
        else:
            lines += _split_long(word, max_px, font_px)
    return lines or [""]


def text_lines(lines: list[str], x: float, y: float, anchor: str = "start", **attrs: str) -> str:
    """One `<text>` with a `<tspan>` per line, the first line's baseline at y."""
    extra = "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE_PX:.0f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{spans}</text>'


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in SVG pixels: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        """True when the boxes share more than a line (pad widens this one on every side)."""
        return not (
            self.right + pad <= other.left
            or other.right <= self.left - pad
            or self.bottom + pad <= other.top
            or other.bottom <= self.top - pad
        )

    def inside(self, outer: Box) -> bool:
        """True when this box lies within `outer`."""
        return (
            self.left >= outer.left
            and self.top >= outer.top
            and self.right <= outer.right
            and self.bottom <= outer.bottom
        )


def label_box(text: str, x: float, y: float, anchor: str, font_px: float = FONT_PX) -> Box:
    """The box one line of text takes with its baseline at y: ascent 0.8 em above, descent
    0.25 em below, anchored at x ('start', 'middle' or 'end')."""
    width = text_width_px(text, font_px)
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return Box(left, y - 0.8 * font_px, left + width, y + 0.25 * font_px)
