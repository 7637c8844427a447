"""cvxpy imported without scipy.stats (models/cvxpy_import.py): it solves as usual, the deferred
`entropy` is scipy's, a later `import scipy.stats` is the real module, and a cvxpy that needs
more of scipy.stats is imported the usual way. Each check runs in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def run(code: str, path: Path | None = None) -> str:
    env_path = [str(path)] if path else []
    prefix = f"import sys; sys.path[:0] = {env_path!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", prefix + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_cvxpy_without_scipy_stats_solves_and_the_real_module_loads_later() -> None:
    out = run(
        """
        import math, sys
        from models.cvxpy_import import import_cvxpy
        cp = import_cvxpy()
        print("stats" if "scipy.stats" in sys.modules else "no-stats")
        x = cp.Variable(nonneg=True)
        problem = cp.Problem(cp.Minimize(2 * x), [x >= 3])
        problem.solve(solver=cp.HIGHS)
        print(round(problem.value, 9))
        from cvxpy.atoms.quantum_rel_entr import entropy
        print(math.isclose(entropy([0.5, 0.5]), math.log(2)))
        import scipy.stats
        print(hasattr(scipy.stats, "norm"), scipy.stats.entropy is not entropy)
        """
    )
    assert out.split("\n") == ["no-stats", "6.0", "True", "True True"]


def test_a_cvxpy_that_needs_more_of_scipy_stats_is_imported_as_usual(tmp_path: Path) -> None:
    fake = tmp_path / "cvxpy"
    fake.mkdir()
    (fake / "__init__.py").write_text("from scipy.stats import norm\nWHO = 'fake'\n")
    out = run(
        """
        import sys
        from models.cvxpy_import import import_cvxpy
        cp = import_cvxpy()
        print(cp.WHO, hasattr(sys.modules["scipy.stats"], "norm"))
        """,
        tmp_path,
    )
    assert out == "fake True"
