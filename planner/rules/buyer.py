"""Who buys: the country a part is delivered to, the country the buyer is headquartered in (or
its ultimate parent is), and the corporate group it belongs to.

US advanced-computing licence requirements follow the destination and, since the Oct-2023 rule,
also the headquarters: an entity headquartered in (or whose ultimate parent is in) Macau or a
Country Group D:5 country needs the same licence wherever it is located (BIS guidance of
31-May-2026 restates this). A part sold only within a group (T-Head's Zhenwu PPU: the Alibaba
group and its cloud customers) is out of reach of every other buyer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from planner.errors import InputError

_GROUP = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")


def _country_codes() -> frozenset[str] | None:
    try:
        import pytz
    except ImportError:  # pragma: no cover - pytz comes with pvlib; without it, shape only
        return None
    return frozenset(pytz.country_names)


def is_country_code(code: str) -> bool:
    """An ISO 3166 alpha-2 code in upper case ('CN', 'US')."""
    known = _country_codes()
    return bool(re.fullmatch(r"[A-Z]{2}", code)) and (known is None or code in known)


def _refuse(file: str | None, field: str, problem: str, fix: str) -> InputError:
    """A file's field (`file` given) or else a parameter the caller passed."""
    if file is None:
        return InputError.option(field, problem, fix)
    return InputError.one(file, field, problem, fix)


def check_buyer(code: str, *, field: str = "buyer", file: str | None = None) -> str:
    """A buyer country is an ISO 3166 alpha-2 code ('CN', 'US'); case is forgiven."""
    upper = code.strip().upper()
    if not is_country_code(upper):
        raise _refuse(
            file,
            field,
            f"'{code}' is not an ISO 3166 two-letter country code.",
            "write e.g. CN, US, AE or MY.",
        )
    return upper


def check_group(name: str, *, field: str = "group", file: str | None = None) -> str:
    """A corporate group is a lowercase slug ('alibaba', 'bytedance')."""
    if not _GROUP.match(name):
        raise _refuse(
            file,
            field,
            f"'{name}' is not a group name.",
            "write the group as a lowercase slug, e.g. alibaba.",
        )
    return name


@dataclass(frozen=True)
class Buyer:
    """A buyer: delivery country, headquarters country (itself or its ultimate parent's) and
    corporate group (None: none named)."""

    country: str
    headquarters: str
    group: str | None = None

    @classmethod
    def of(
        cls,
        country: str,
        headquarters: str | None = None,
        group: str | None = None,
        *,
        file: str | None = None,
        fields: tuple[str, str, str] = ("buyer", "headquarters", "group"),
    ) -> Buyer:
        """Checked codes; the headquarters defaults to the delivery country."""
        where = check_buyer(country, field=fields[0], file=file)
        home = where
        if headquarters is not None:
            home = check_buyer(headquarters, field=fields[1], file=file)
        named = None if group is None else check_group(group, field=fields[2], file=file)
        return cls(where, home, named)

    @property
    def abroad(self) -> bool:
        """Headquartered in one country, buying for delivery in another."""
        return self.headquarters != self.country

    def label(self) -> str:
        """The buyer as sentences name it, e.g. 'SG (headquartered in CN), Alibaba group'."""
        hq = f" (headquartered in {self.headquarters})" if self.abroad else ""
        group = f", {self.group} group" if self.group else ""
        return f"{self.country}{hq}{group}"


def as_buyer(buyer: str | Buyer) -> Buyer:
    """A Buyer from a country code (headquartered at home) or a Buyer as is."""
    return buyer if isinstance(buyer, Buyer) else Buyer.of(buyer)
