"""The site energy LP, reduced to what PyPSA can state, in PyPSA and in our models: timed apart.

Issue 8's second target compares five sites x 8,760 h with PyPSA on the same problem. PyPSA has
no component for our demand charges (monthly peak import), the deferrable load that moves within
its day, the battery backup reserve or the yearly cycle limit, so both sides solve the REDUCED
LP: `reduced(x)` sets demand charges to 0, the deferrable share to 0, the backup hours to 0,
export to 0 and the cycle limit to none; everything else (hourly load x PUE, grid import cap,
price + carbon per MWh, solar sized against its capacity factor with curtailment, a battery with
MWh and MW sized apart within a duration range, SOC limits, charge and discharge efficiencies,
cyclic storage, priced unserved IT load) is the same LP, and the objectives agree to 1e-6.

The PyPSA network per site: a bus with the facility load; a grid generator (p_nom = import cap,
marginal cost = price + emission x carbon price); an extendable solar generator (p_max_pu =
capacity factor); unserved load as a generator costing penalty / PUE per facility MWh; a store
(MWh, cyclic) behind a charger link (efficiency eta_c, capital cost per MW) and a discharger link
(efficiency eta_d) whose p_nom is tied to the charger's by eta_d x p_nom_dis = p_nom_ch, since
our battery MW bounds the power delivered and PyPSA's link p_nom bounds the power withdrawn.

    .venv/bin/python benches/pypsa_site.py SIZE SITES BACKEND|pypsa   -> one JSON line

runs one side (pypsa, cvxpy, pyomo, cvxpy:apart, pyomo:apart) in this fresh process (imports
untimed) and prints seconds, objective and peak RSS (for `apart`, of the parent process).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from models.site_energy import SiteEnergyInputs
from planner.bench.site import bench_inputs, peak_rss_mb


def reduced(x: SiteEnergyInputs) -> SiteEnergyInputs:
    """`x` without the features PyPSA has no component for (see the module docstring)."""
    return replace(
        x,
        demand_charge_per_mw_month=0.0,
        deferrable_fraction=0.0,
        backup_hours=0.0,
        grid_export_cap_mw=0.0,
        annual_cycle_limit=math.inf,
    )


def reduced_inputs(size: str, n_sites: int) -> list[SiteEnergyInputs]:
    """The site benchmark's inputs (planner.bench.site.bench_inputs: same sites, copies, sizes),
    reduced; chronological sizes only (PyPSA's cyclic store wraps over all snapshots)."""
    if size.startswith("rep:"):
        raise ValueError("representative days wrap storage per day: use hours, e.g. 8760")
    return [reduced(x) for x in bench_inputs(size, n_sites)]


def pypsa_network(inputs: Sequence[SiteEnergyInputs]) -> Any:
    """One PyPSA network holding every site on its own bus (they share nothing)."""
    import pandas as pd
    import pypsa

    n = pypsa.Network()
    n.set_snapshots(pd.RangeIndex(inputs[0].n_steps, name="snapshot"))
    # costs weigh each step by the hours it stands for; storage moves over one-hour steps
    n.snapshot_weightings["objective"] = inputs[0].weight_h
    n.snapshot_weightings["generators"] = inputs[0].weight_h
    n.snapshot_weightings["stores"] = 1.0
    for s, x in enumerate(inputs):
        bus, store_bus = f"site{s}", f"site{s} battery"
        facility_mw = x.pue * x.it_load_mw
        forced_unserved_mw = x.pue * np.maximum(x.it_load_mw - x.it_capacity_mw, 0.0)
        unserved_cap_mw = max(float(facility_mw.max()), 1e-9)
        n.add("Bus", [bus, store_bus])
        n.add("Load", f"{bus} load", bus=bus, p_set=facility_mw)
        n.add(
            "Generator", f"{bus} grid", bus=bus,
            p_nom=x.grid_import_cap_mw if math.isfinite(x.grid_import_cap_mw) else 1e6,
            marginal_cost=x.price_per_mwh + x.emission_t_per_mwh * x.carbon_price_per_t,
        )  # fmt: skip
        n.add(
            "Generator", f"{bus} solar", bus=bus, p_nom_extendable=True,
            p_nom_max=x.solar_max_mw, p_max_pu=x.solar_capacity_factor,
            capital_cost=x.solar_annual_cost_per_mw,
        )  # fmt: skip
        n.add(
            "Generator", f"{bus} unserved", bus=bus, p_nom=unserved_cap_mw,
            p_min_pu=forced_unserved_mw / unserved_cap_mw,
            marginal_cost=x.unserved_penalty_per_mwh / x.pue,
        )  # fmt: skip
        n.add(
            "Store", f"{bus} store", bus=store_bus, e_nom_extendable=True, e_cyclic=True,
            e_nom_max=x.battery_max_mwh, e_min_pu=x.soc_min_fraction,
            e_max_pu=x.soc_max_fraction, capital_cost=x.battery_annual_cost_per_mwh,
        )  # fmt: skip
        n.add(
            "Link", f"{bus} charger", bus0=bus, bus1=store_bus, p_nom_extendable=True,
            efficiency=x.charge_efficiency_fraction, capital_cost=x.battery_annual_cost_per_mw,
        )  # fmt: skip
        n.add(
            "Link", f"{bus} discharger", bus0=store_bus, bus1=bus, p_nom_extendable=True,
            efficiency=x.discharge_efficiency_fraction,
        )  # fmt: skip
    return n


def tie_battery_power(inputs: Sequence[SiteEnergyInputs]) -> Any:
    """extra_functionality: one battery MW per site (eta_d x p_nom_dis = p_nom_ch) and the
    duration range min_h x MW <= MWh <= max_h x MW."""

    def add(n: Any, _snapshots: Any) -> None:
        link = n.model["Link-p_nom"]
        store = n.model["Store-e_nom"]
        for s, x in enumerate(inputs):
            ch, dis = link.loc[f"site{s} charger"], link.loc[f"site{s} discharger"]
            mwh = store.loc[f"site{s} store"]
            n.model.add_constraints(
                x.discharge_efficiency_fraction * dis - ch == 0, name=f"site{s}-battery-mw"
            )
            n.model.add_constraints(mwh - x.min_duration_h * ch >= 0, name=f"site{s}-min-h")
            if math.isfinite(x.max_duration_h):
                n.model.add_constraints(mwh - x.max_duration_h * ch <= 0, name=f"site{s}-max-h")

    return add


def solve_pypsa(inputs: Sequence[SiteEnergyInputs]) -> dict[str, Any]:
    """Network construction, then `optimize` (linopy model, HiGHS, solution read back), timed."""
    import logging

    import pypsa  # imported before the clock starts, as our backends are

    for name in ("pypsa", "linopy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    del pypsa
    start = time.perf_counter()
    n = pypsa_network(inputs)
    network_s = time.perf_counter() - start
    status, condition = n.optimize(
        solver_name="highs",
        extra_functionality=tie_battery_power(inputs),
        log_to_console=False,
    )
    total_s = time.perf_counter() - start
    return {
        "status": f"{status}/{condition}",
        "objective": float(n.objective + getattr(n, "objective_constant", 0.0)),
        "build_s": network_s,
        "total_s": total_s,
    }


def solve_ours(inputs: Sequence[SiteEnergyInputs], backend: str) -> dict[str, Any]:
    """The same reduced sites in one of our backends, as `planner bench` times them: one LP
    (`cvxpy`, `pyomo`) or one LP per site in worker processes (`cvxpy:apart`, `pyomo:apart`)."""
    from models.decompose import solve_apart, solve_joint
    from models.dispatch import solve_site_energy as solve

    name, _, method = backend.partition(":")
    start = time.perf_counter()
    if method == "apart":
        sol: Any = solve_apart(inputs, name)  # type: ignore[arg-type]
    elif len(inputs) == 1:
        sol = solve(inputs[0], name)  # type: ignore[arg-type]
    else:
        sol = solve_joint(inputs, name)  # type: ignore[arg-type]
    total_s = time.perf_counter() - start
    return {
        "status": str(sol.status),
        "objective": sol.objective,
        "build_s": sol.stats.build_s,
        "solve_s": sol.stats.solve_s,
        "total_s": total_s,
    }


def main(argv: Sequence[str]) -> None:
    size, n_sites, side = argv[0], int(argv[1]), argv[2]
    inputs = reduced_inputs(size, n_sites)
    row = solve_pypsa(inputs) if side == "pypsa" else solve_ours(inputs, side)
    row.update(side=side, size=size, sites=n_sites, peak_rss_mb=peak_rss_mb())
    sys.stdout.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
