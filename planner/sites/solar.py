"""Hourly solar capacity factor from pvlib, offline: clear sky x monthly clearness, then PVWatts.

Steps, for each hour of the site's year (mid-hour sun position, local standard time):

1. Clear-sky irradiance by the Ineichen-Perez model with the Linke turbidity climatology that
   ships with pvlib (no network).
2. Monthly clearness: k_m = (long-term mean daily GHI of month m, a sourced site figure) /
   (mean daily clear-sky GHI of month m), capped at 1; hourly GHI = k_m x clear-sky GHI. This
   keeps each month's energy right but spreads clouds evenly over the month's hours.
3. Erbs decomposition of GHI into beam and diffuse, isotropic transposition onto a fixed plane
   (tilt, azimuth; ground albedo 0.2).
4. AC output per MW of inverter: min(POA / 1,000 W/m^2 x DC/AC ratio x (1 - system losses) x
   inverter efficiency, 1). Cell temperature is not modelled: its loss belongs in the system
   loss figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from planner.timeseries import year_index

STC_IRRADIANCE_W_PER_M2 = 1_000.0
ALBEDO_FRACTION = 0.2


@dataclass(frozen=True)
class PvSystem:
    """A fixed-tilt PV plant rated in AC MW; figures come from the site file."""

    latitude_deg: float
    longitude_deg: float
    altitude_m: float
    timezone: str
    tilt_deg: float
    azimuth_deg: float  # 180 = facing south
    monthly_ghi_kwh_per_m2_day: tuple[float, ...]  # 12 long-term monthly means
    dc_ac_ratio: float
    system_loss_fraction: float
    inverter_efficiency_fraction: float


def known_timezone(name: str) -> bool:
    """True when `name` is an IANA time zone the tz database here holds (e.g. 'Asia/Shanghai').

    The site reader checks this before asking for a capacity factor, so an unknown zone is a
    problem naming the site file and its `timezone` field, never a traceback from pandas.
    """
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def _mid_hours(year: int, timezone: str) -> pd.DatetimeIndex:
    """Mid-hour instants of the year in the site's standard time (fixed UTC offset)."""
    if not known_timezone(timezone):
        raise ValueError(f"'{timezone}' is not an IANA time zone (e.g. 'Asia/Shanghai')")
    offset = pd.Timestamp(f"{year}-01-15", tz=timezone).utcoffset()
    index = year_index(year) + pd.Timedelta(minutes=30) - offset
    return index.tz_localize("UTC")


def clear_sky(system: PvSystem, year: int) -> pd.DataFrame:
    """Ineichen clear-sky GHI, DNI and DHI in W/m^2 with the sun's position, one row per hour."""
    import pvlib

    times = _mid_hours(year, system.timezone)
    location = pvlib.location.Location(
        system.latitude_deg, system.longitude_deg, altitude=system.altitude_m
    )
    sky = location.get_clearsky(times, model="ineichen")
    sun = location.get_solarposition(times)
    return sky.join(sun[["apparent_zenith", "zenith", "azimuth"]])


def monthly_clearness(
    clear_ghi_w_per_m2: pd.Series, monthly_ghi_kwh_per_m2_day: tuple[float, ...]
) -> np.ndarray:
    """(12,) k_m = sourced mean daily GHI / clear-sky mean daily GHI of month m, capped at 1."""
    months = clear_ghi_w_per_m2.index.month
    days = clear_ghi_w_per_m2.groupby(months).size() / 24
    clear_daily_kwh = clear_ghi_w_per_m2.groupby(months).sum() / 1_000 / days
    k = np.asarray(monthly_ghi_kwh_per_m2_day) / clear_daily_kwh.to_numpy()
    return np.minimum(k, 1.0)


def capacity_factor(system: PvSystem, year: int) -> np.ndarray:
    """(8760,) AC output per MW installed, fraction, for the site's year."""
    import pvlib

    sky = clear_sky(system, year)
    k = monthly_clearness(sky["ghi"], system.monthly_ghi_kwh_per_m2_day)
    ghi = sky["ghi"] * k[sky.index.month.to_numpy() - 1]
    parts = pvlib.irradiance.erbs(ghi, sky["zenith"], sky.index)
    poa = pvlib.irradiance.get_total_irradiance(
        system.tilt_deg,
        system.azimuth_deg,
        sky["apparent_zenith"],
        sky["azimuth"],
        parts["dni"],
        ghi,
        parts["dhi"],
        albedo=ALBEDO_FRACTION,
        model="isotropic",
    )["poa_global"].fillna(0.0)
    dc = poa.to_numpy() / STC_IRRADIANCE_W_PER_M2 * system.dc_ac_ratio
    ac = dc * (1.0 - system.system_loss_fraction) * system.inverter_efficiency_fraction
    return np.clip(ac, 0.0, 1.0)
