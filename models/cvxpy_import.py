"""Import cvxpy without scipy.stats, which it imports for one function and a sweep never calls.

cvxpy's package import loads `scipy.stats` (for `entropy`, in its quantum relative entropy atom):
about half of cvxpy's import time, 0.4-0.6 s of every sweep worker's start on the shared 2-core
machine (docs/benchmarks.md, "Sweeps: cases per minute"), while no LP of the planner uses that
atom. `import_cvxpy` imports cvxpy with a stand-in `scipy.stats` that holds only a deferred
`entropy` (it imports the real function on its first call), then removes the stand-in: any later
`import scipy.stats` loads the real module. Should a cvxpy version need more of scipy.stats at
import, the stand-in is dropped and cvxpy is imported as usual.
"""

from __future__ import annotations

import sys
import types
from typing import Any

_STATS = "scipy.stats"


def _entropy(*args: Any, **kwargs: Any) -> Any:
    from scipy.stats import entropy

    return entropy(*args, **kwargs)


def import_cvxpy() -> types.ModuleType:
    """cvxpy, imported without loading scipy.stats when neither is loaded yet."""
    if "cvxpy" in sys.modules or _STATS in sys.modules:
        import cvxpy

        return cvxpy
    stand_in = types.ModuleType(_STATS)
    stand_in.__dict__["entropy"] = _entropy  # a module attribute mypy cannot see declared
    sys.modules[_STATS] = stand_in
    try:
        import cvxpy
    except ImportError:  # this cvxpy wants more of scipy.stats: import it the usual way
        for name in [m for m in sys.modules if m == "cvxpy" or m.startswith("cvxpy.")]:
            del sys.modules[name]
        if sys.modules.get(_STATS) is stand_in:
            del sys.modules[_STATS]
        import cvxpy
    finally:
        if sys.modules.get(_STATS) is stand_in:
            del sys.modules[_STATS]
    return cvxpy
