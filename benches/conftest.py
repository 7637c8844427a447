"""pytest-benchmark suites for the optimisation models (not collected by `make test`).

Run: `.venv/bin/pytest benches` (sizes 168,2190,rep:12,rep:24 and 1, 5 sites by default), or
`.venv/bin/pytest benches --bench-sizes 8760 --bench-sites 1,5` for the full year. Benchmarks are
enabled here although pyproject's addopts disables them for the unit tests.
"""

from __future__ import annotations

import pytest

from planner.bench.site import parse_sites, parse_sizes


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bench-sizes",
        default="168,2190,rep:12,rep:24",
        help="Hours from 1 January or rep:N representative days, comma-separated.",
    )
    parser.addoption("--bench-sites", default="1,5", help="Site counts, comma-separated.")


def pytest_configure(config: pytest.Config) -> None:
    config.option.benchmark_disable = False
    config.option.benchmark_enable = True


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    if "size" in metafunc.fixturenames:
        metafunc.parametrize("size", parse_sizes(config.getoption("--bench-sizes")))
    if "n_sites" in metafunc.fixturenames:
        sites = parse_sites(config.getoption("--bench-sites"))
        if metafunc.function.__name__.endswith("_apart"):
            sites = [n for n in sites if n > 1] or [2]
        metafunc.parametrize("n_sites", sites)
