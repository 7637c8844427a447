"""Site files -> arrays: schema errors, tariffs, solar, economics and the time axis."""

from __future__ import annotations

import copy
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from models.dispatch import solve_site_energy as solve
from planner.economics import annualised_cost, capital_recovery_factor
from planner.errors import InputError
from planner.sites.site import Site, load_site, parse_hours, site_inputs
from planner.sites.solar import PvSystem, clear_sky, monthly_clearness
from planner.timeseries import full_year_axis, representative_days, within_day_prev_step

SITES = Path(__file__).resolve().parent.parent / "scenarios" / "sites"
GUANGDONG = SITES / "guangdong_zhongshan.yaml"
CAROLINA = SITES / "north_carolina_greensboro.yaml"
# HiGHS options per shipped site that make its full-year LP solve fastest (measured: 11 s by
# interior point vs 39 s by simplex for Guangdong; simplex is faster for Carolina)
FAST = {"guangdong": {"solver": "ipm"}, "carolina": {}}


@pytest.fixture(scope="session")
def guangdong() -> Site:
    return load_site(GUANGDONG)


@pytest.fixture(scope="session")
def carolina() -> Site:
    return load_site(CAROLINA)


def raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def write_site(tmp_path: Path, data: dict[str, Any], name: str = "site.yaml") -> Path:
    """A site file in tmp_path, with the shipped load CSV beside it."""
    shutil.copy(SITES / "north_carolina_it_load.csv", tmp_path / "north_carolina_it_load.csv")
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_site(path)
    return str(info.value)


# --- economics -----------------------------------------------------------------------------


def test_capital_recovery_factor_hand_value() -> None:
    # 7 %, 15 years: 0.07 x 1.07^15 / (1.07^15 - 1) = 0.07 x 2.759032 / 1.759032 = 0.109795
    assert capital_recovery_factor(0.07, 15) == pytest.approx(0.109795, abs=1e-6)
    assert capital_recovery_factor(0.0, 20) == pytest.approx(0.05)
    # 1,000 capex at 10 % over 1 year repays 1,100, plus 30 O&M
    assert annualised_cost(1_000, 30, 0.10, 1) == pytest.approx(1_130)


def test_site_annual_costs_use_the_crf(carolina: Site) -> None:
    # battery: 165,000 USD/MWh at 7 % over 15 years, no fixed O&M
    assert carolina.battery_annual_cost_per_mwh == pytest.approx(165_000 * 0.1097946, rel=1e-6)
    # solar: 829,200 USD/MW at 7 % over 25 years, O&M unknown -> 0 and said so
    assert carolina.solar_annual_cost_per_mw == pytest.approx(
        829_200 * capital_recovery_factor(0.07, 25)
    )
    assert any(u.startswith("solar.fixed_om_per_mw_year is unknown") for u in carolina.unknowns)


# --- load and tariffs -----------------------------------------------------------------------


def test_flat_load_times_daily_profile_and_pue(guangdong: Site) -> None:
    profile = raw(GUANGDONG)["load"]["it_load"]["daily_profile_fraction"]["value"]
    assert guangdong.it_load_mw[:24] == pytest.approx(85 * np.array(profile))
    assert guangdong.it_load_mw[24 * 200 + 15] == pytest.approx(85 * 1.10)
    assert guangdong.facility_load_mw.max() == pytest.approx(85 * 1.10 * 1.25)
    assert guangdong.it_capacity_mw == 100
    assert guangdong.critical_load_mw == 30
    assert guangdong.backup_hours == 1


def test_guangdong_time_of_use_by_hour_and_month(guangdong: Site) -> None:
    price = guangdong.price_per_mwh.reshape(365, 24)
    jan_1, jul_15 = price[0], price[195]
    assert jan_1[3] == pytest.approx(261.93)  # valley 0-8 h
    assert jan_1[10] == pytest.approx(1171.81)  # peak 10-12 h
    assert jan_1[11] == pytest.approx(1171.81)
    assert jan_1[12] == pytest.approx(689.3)  # flat
    assert jan_1[19] == pytest.approx(689.3)
    assert jul_15[11] == pytest.approx(1464.77)  # critical 11-12 and 15-17 h in Jul-Sep
    assert jul_15[15] == jul_15[16] == pytest.approx(1464.77)
    assert jul_15[10] == pytest.approx(1171.81)
    assert price[304, 11] == pytest.approx(1171.81)  # 1 November: peak again
    # Guangdong's 35-110 kV maximum-demand charge, 31.0 CNY per kW-month (ndrc-td-2026)
    assert guangdong.demand_charge_per_mw_month == pytest.approx(31_000)
    assert not any("demand_charge" in u for u in guangdong.unknowns)


def test_an_unknown_demand_charge_is_zero_and_said_so(tmp_path: Path) -> None:
    data = raw(SITES / "guangdong_zhongshan.yaml")
    data["grid"]["demand_charge_per_mw_month"] = {"value": None, "note": "not found"}
    site = load_site(write_site(tmp_path, data))
    assert site.demand_charge_per_mw_month == 0
    assert any("demand_charge" in u for u in site.unknowns)


def test_carolina_reads_the_load_csv(carolina: Site) -> None:
    assert carolina.it_load_mw.shape == (8_760,)
    assert carolina.it_load_mw[0] == pytest.approx(70.4)  # 80 x 0.88 on Wed 1 Jan 2025
    assert carolina.demand_charge_per_mw_month == 3_630
    assert carolina.currency == "USD"


# --- solar ----------------------------------------------------------------------------------


def test_monthly_clearness_reproduces_the_sourced_ghi() -> None:
    system = PvSystem(
        36.1, -79.95, 273, "America/New_York", 36.1, 180, (3.0,) * 12, 1.2, 0.14, 0.96
    )
    sky = clear_sky(system, 2025)
    ghi = (2.41, 3.06, 4.25, 5.41, 5.64, 6.25, 6.08, 5.61, 4.43, 3.59, 2.43, 2.24)
    k = monthly_clearness(sky["ghi"], ghi)
    assert ((k > 0) & (k < 1)).all()
    hourly = sky["ghi"] * k[sky.index.month - 1]
    daily_kwh = (
        hourly.groupby(sky.index.month).sum()
        / 1_000
        / (hourly.groupby(sky.index.month).size() / 24)
    )
    assert daily_kwh.to_numpy() == pytest.approx(ghi, rel=1e-9)


def test_solar_capacity_factor_follows_the_local_sun(carolina: Site, guangdong: Site) -> None:
    for site in (carolina, guangdong):
        cf = site.solar_capacity_factor.reshape(365, 24)
        assert cf.min() >= 0 and cf.max() <= 1
        assert cf[:, 0].max() == 0 and cf[:, 23].max() == 0  # local midnight is dark
        assert cf[:, 12].mean() > 0.3  # local noon is bright
    # Greensboro's TMY3 year (1,566 kWh/m2) beats Zhongshan's (1,225 kWh/m2)
    assert carolina.solar_capacity_factor.mean() > guangdong.solar_capacity_factor.mean()


# --- time axis ------------------------------------------------------------------------------


def test_full_year_axis() -> None:
    axis = full_year_axis(2025)
    assert axis.weight_h.sum() == 8_760
    assert axis.prev_step[0] == 8_759 and axis.prev_step[1] == 0  # storage wraps over the year
    assert axis.billing_period.max() == 11 and (axis.billing_period_months == 1).all()
    assert axis.billing_period[31 * 24] == 1  # 1 February is in the second bill


def test_within_day_prev_step_wraps_each_day() -> None:
    prev = within_day_prev_step(2)
    assert prev.tolist() == [23, *range(0, 23), 47, *range(24, 47)]


@pytest.mark.parametrize("n_days", [1, 12, 30])
def test_representative_days_weights_and_wrap(guangdong: Site, n_days: int) -> None:
    inputs, _ = site_inputs(guangdong, n_days)
    assert inputs.n_steps == 24 * n_days
    assert inputs.weight_h.sum() == pytest.approx(8_760)
    assert (inputs.day[inputs.prev_step] == inputs.day).all()  # storage wraps within its day
    first_hours = np.arange(n_days) * 24
    assert (inputs.prev_step[first_hours] == first_hours + 23).all()
    # demand charges: the year's peak is billed for 12 months (conservative)
    assert inputs.billing_period_months.tolist() == [12.0]
    assert (inputs.billing_period == 0).all()


def test_representative_days_are_real_days_and_keep_the_peak(carolina: Site) -> None:
    series = {"facility_mw": carolina.facility_load_mw, "cf": carolina.solar_capacity_factor}
    rep = representative_days(series, 12)
    assert rep.count_days.sum() == 365
    for i, day in enumerate(rep.day_of_year):
        hours = slice(day * 24, day * 24 + 24)
        assert rep.series["cf"][i * 24 : i * 24 + 24] == pytest.approx(
            carolina.solar_capacity_factor[hours]
        )
    assert rep.series["facility_mw"].max() == pytest.approx(carolina.facility_load_mw.max())


def test_parse_hours() -> None:
    assert parse_hours("full") == "full"
    assert parse_hours("rep:12") == 12
    for bad in ("rep:0", "rep:x", "weekly", "rep:366"):
        with pytest.raises(InputError, match=r"^hours: "):
            parse_hours(bad)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["guangdong", "carolina"])
def test_representative_days_within_2_percent_of_full_year(name: str) -> None:
    site = load_site(GUANGDONG if name == "guangdong" else CAROLINA)
    full_inputs, axis = site_inputs(site, "full")
    full = solve(full_inputs, backend="cvxpy", options=FAST[name])
    # full year: each month billed on its own peak
    monthly_peaks = [full.grid_import_mw[axis.billing_period == m].max() for m in range(12)]
    assert full.costs is not None
    assert full.costs.demand_charges == pytest.approx(
        site.demand_charge_per_mw_month * sum(monthly_peaks), rel=1e-6, abs=1e-3
    )
    for n_days in (12, 24):
        rep = solve(site_inputs(site, n_days)[0], backend="cvxpy")
        assert rep.objective == pytest.approx(full.objective, rel=0.02), n_days
        # representative days: the year's peak billed for 12 months (conservative)
        assert rep.costs is not None
        assert rep.costs.demand_charges == pytest.approx(
            site.demand_charge_per_mw_month * 12 * rep.grid_import_mw.max(), rel=1e-6, abs=1e-3
        )


def test_deferral_off_pins_load(guangdong: Site) -> None:
    on, _ = site_inputs(guangdong, 12)
    off, _ = site_inputs(guangdong, 12, deferral=False)
    assert on.deferrable_fraction == 0.2 and off.deferrable_fraction == 0.0


# --- schema errors: file, field, fix; every error at once ------------------------------------


def test_wrong_unit_and_unknown_field_reported_together(tmp_path: Path) -> None:
    data = raw(GUANGDONG)
    data["grid"]["import_cap"]["value"] = "130 MWh"
    data["grid"]["import_kap"] = {"value": "1 MW"}
    text = problems_of(write_site(tmp_path, data))
    assert "site.yaml: grid.import_kap: Extra inputs are not permitted" in text
    assert "remove it, or check its spelling" in text
    # pydantic errors come first; the unit error follows once the schema is sound
    data["grid"].pop("import_kap")
    text = problems_of(write_site(tmp_path, data))
    assert "grid.import_cap.value: '130 MWh' is not a power. Fix: write e.g. '700 W'." in text


def test_every_figure_error_reported_at_once(tmp_path: Path) -> None:
    data = raw(GUANGDONG)
    data["grid"]["import_cap"]["value"] = "130 MWh"
    data["grid"]["energy_price"]["tou"]["prices_per_mwh"]["flat"]["value"] = "0.35 CNY/kWh"
    data["battery"]["soc_max_fraction"] = {"value": 1.5, "source": "example", "confidence": "press"}
    data["load"]["pue"]["source"] = "nowhere"
    text = problems_of(write_site(tmp_path, data))
    assert "grid.import_cap.value: '130 MWh' is not a power" in text
    assert "prices_per_mwh.flat.value: '0.35 CNY/kWh' is not a plain number" in text
    assert "money is in the file's currency (CNY)" in text
    assert "battery.soc_max_fraction.value: 1.5 is outside the possible range" in text
    assert "load.pue.source: 'nowhere' is neither a key of 'sources:' nor a URL" in text


def test_missing_csv(tmp_path: Path) -> None:
    data = raw(CAROLINA)
    data["load"]["it_load"]["csv"]["file"] = "nowhere.csv"
    text = problems_of(write_site(tmp_path, data))
    assert "load.it_load.csv.file: CSV file" in text and "nowhere.csv' not found" in text


def test_csv_of_the_wrong_length(tmp_path: Path) -> None:
    (tmp_path / "short.csv").write_text("it_load_mw\n" + "80\n" * 100, encoding="utf-8")
    data = raw(CAROLINA)
    data["load"]["it_load"]["csv"]["file"] = "short.csv"
    text = problems_of(write_site(tmp_path, data))
    assert "load.it_load.csv.file: 'short.csv' column 'it_load_mw' has 100 rows, not 8760" in text


def test_csv_with_a_negative_load(tmp_path: Path) -> None:
    values = ["80"] * 8_760
    values[42] = "-5"
    (tmp_path / "neg.csv").write_text("it_load_mw\n" + "\n".join(values) + "\n", encoding="utf-8")
    data = raw(CAROLINA)
    data["load"]["it_load"]["csv"]["file"] = "neg.csv"
    text = problems_of(write_site(tmp_path, data))
    assert "has 1 negative values (first -5.0 at data row 43)" in text
    assert "Fix: write values >= 0." in text


def test_tou_table_errors(tmp_path: Path) -> None:
    data = raw(GUANGDONG)
    tou = data["grid"]["energy_price"]["tou"]
    tou["hours"] = tou["hours"][:23]
    tou["months"][8] = ["shoulder"] * 24
    text = problems_of(write_site(tmp_path, data))
    assert "grid.energy_price.tou.hours: has 23 entries, not 24" in text
    assert "grid.energy_price.tou.months.8: period(s) shoulder have no price" in text


def test_cross_field_rules(tmp_path: Path) -> None:
    data = raw(GUANGDONG)
    data["load"]["it_capacity"]["value"] = "90 MW"
    data["year"] = 2024
    text = problems_of(write_site(tmp_path, data))
    assert "year: Value error, 2024 is a leap year" in text or "2024 is a leap year" in text
    data["year"] = 2025
    text = problems_of(write_site(tmp_path, data))
    assert "load.it_load: IT load peaks at 93.5 MW, above the installed IT capacity 90 MW" in text


def test_unknown_required_figure_needs_a_value(tmp_path: Path) -> None:
    data = raw(GUANGDONG)
    data["grid"]["import_cap"] = {"value": None, "note": "connection not yet agreed"}
    text = problems_of(write_site(tmp_path, data))
    assert "grid.import_cap.value: the model needs this figure but it is null" in text


def test_estimate_without_note_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(raw(GUANGDONG))
    data["load"]["deferrable_fraction"].pop("note")
    text = problems_of(write_site(tmp_path, data))
    assert "load.deferrable_fraction: an estimate needs a note" in text


def test_shipped_sites_cite_every_figure(guangdong: Site, carolina: Site) -> None:
    for site in (guangdong, carolina):
        for name, prov in site.provenance.items():
            assert prov.source is not None or prov.note, name
            if prov.confidence == "estimate":
                assert prov.note, name
        assert not math.isnan(site.solar_annual_cost_per_mw)


def test_csv_forms_of_price_solar_pue_emission_and_export(tmp_path: Path) -> None:
    hours = np.arange(8_760)
    columns = {
        "price": 300 + (hours % 24),
        "cf": np.where((hours % 24 >= 8) & (hours % 24 < 16), 0.5, 0.0),
        "pue": np.full(8_760, 1.3),
        "ef": np.full(8_760, 0.4),
    }
    table = "\n".join(",".join(f"{columns[c][h]:g}" for c in columns) for h in hours)
    (tmp_path / "hourly.csv").write_text(",".join(columns) + "\n" + table + "\n", encoding="utf-8")
    cite = {"source": "example", "confidence": "estimate", "note": "test series"}
    data = raw(GUANGDONG)
    data["grid"]["energy_price"] = {"csv": {"file": "hourly.csv", "column": "price", **cite}}
    data["grid"].pop("emission_t_per_mwh")
    data["grid"]["emission_csv"] = {"file": "hourly.csv", "column": "ef", **cite}
    data["grid"]["export"] = {
        "cap": {"value": "20 MW", **cite},
        "price_per_mwh": {"value": 150, **cite},
    }
    data["load"].pop("pue")
    data["load"]["pue_csv"] = {"file": "hourly.csv", "column": "pue", **cite}
    data["solar"].pop("pvlib")
    data["solar"]["csv"] = {"file": "hourly.csv", "column": "cf", **cite}
    site = load_site(write_site(tmp_path, data))
    assert site.price_per_mwh[:3].tolist() == [300, 301, 302]
    assert site.price_per_mwh[8_759] == 323
    assert site.solar_capacity_factor.sum() == pytest.approx(0.5 * 8 * 365)
    assert (site.pue == 1.3).all() and (site.emission_t_per_mwh == 0.4).all()
    assert site.grid_export_cap_mw == 20 and (site.export_price_per_mwh == 150).all()
    assert site.facility_load_mw.max() == pytest.approx(85 * 1.10 * 1.3)
