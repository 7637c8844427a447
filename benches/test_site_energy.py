"""Site energy model: build, total (build + solve + read back) and HiGHS alone on the same LP.

Each benchmark runs once per case (the LPs take seconds to minutes; repeating them buys little):
`build` times constructing the backend's model of every site, `total` the whole solve (its
`extra_info` splits it into build_s and solve_s as the backend reports them), `highs_alone` HiGHS
solving the MPS file the backend writes, and `apart` the sites solved apart in parallel. Every
total is checked against HiGHS alone to 1e-6 relative, so a benchmark that drifts also fails.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from models.decompose import build_joint, solve_apart, solve_joint
from models.mps import solve_mps, write_mps
from models.site_energy import SiteEnergyInputs
from planner.bench.site import bench_inputs

BACKENDS = ["cvxpy", "pyomo"]
REL_TOL = 1e-6
T = TypeVar("T")


@functools.cache
def inputs_for(size: str, n_sites: int) -> tuple[SiteEnergyInputs, ...]:
    return tuple(bench_inputs(size, n_sites))


@functools.cache
def highs_alone_objective(size: str, n_sites: int, backend: str, folder: str) -> float:
    path = Path(folder) / f"{backend}-{size.replace(':', '')}-{n_sites}.mps"
    if not path.exists():
        write_mps(build_joint(inputs_for(size, n_sites), backend), path)
    return solve_mps(path).objective


def once(benchmark: BenchmarkFixture, function: Callable[..., T], *args: Any) -> T:
    return benchmark.pedantic(function, args=args, rounds=1, iterations=1, warmup_rounds=0)


@pytest.fixture(scope="session")
def mps_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("mps"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_build(benchmark: BenchmarkFixture, size: str, n_sites: int, backend: str) -> None:
    benchmark.group = f"site {size} h x {n_sites}: build"
    model = once(benchmark, build_joint, inputs_for(size, n_sites), backend)
    assert model is not None


@pytest.mark.parametrize("backend", BACKENDS)
def test_total(
    benchmark: BenchmarkFixture, size: str, n_sites: int, backend: str, mps_folder: str
) -> None:
    benchmark.group = f"site {size} h x {n_sites}: total"
    solved = once(benchmark, solve_joint, inputs_for(size, n_sites), backend)
    benchmark.extra_info.update(build_s=solved.stats.build_s, solve_s=solved.stats.solve_s)
    floor = highs_alone_objective(size, n_sites, backend, mps_folder)
    assert solved.objective == pytest.approx(floor, rel=REL_TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_highs_alone(
    benchmark: BenchmarkFixture, size: str, n_sites: int, backend: str, mps_folder: str
) -> None:
    benchmark.group = f"site {size} h x {n_sites}: HiGHS alone"
    path = Path(mps_folder) / f"{backend}-{size.replace(':', '')}-{n_sites}.mps"
    if not path.exists():
        write_mps(build_joint(inputs_for(size, n_sites), backend), path)
    alone = once(benchmark, solve_mps, path)
    benchmark.extra_info.update(read_s=alone.read_s, solve_s=alone.solve_s, rows=alone.n_rows)
    assert alone.status == "optimal"


@pytest.mark.parametrize("backend", BACKENDS)
def test_apart(
    benchmark: BenchmarkFixture, size: str, n_sites: int, backend: str, mps_folder: str
) -> None:
    benchmark.group = f"site {size} h x {n_sites}: apart"
    solved = once(benchmark, solve_apart, inputs_for(size, n_sites), backend)
    floor = highs_alone_objective(size, n_sites, backend, mps_folder)
    assert solved.objective == pytest.approx(floor, rel=REL_TOL)
