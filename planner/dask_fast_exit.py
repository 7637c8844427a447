"""A worker plugin for the local cluster's workers: once a worker has closed, its process exits
without Python's interpreter teardown.

A sweep's worker holds cvxpy, pandas, the profile libraries and its LP templates; tearing all
that down module by module after the worker has closed took 0.5-1 s of every sweep's stop
(docs/benchmarks.md, "Sweeps: cases per minute"), with nothing left to do: the worker's results
are with the client, its scratch folders are gone and its Dask connections are closed. The plugin
arms an exit hook when the worker closes; at interpreter exit the hook flushes logging and the
standard streams and ends the process with status 0 (a closed worker's status). Only workers of a
cluster the planner starts itself get it (planner/dask_cluster.py), never a remote scheduler's.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


def _exit_now() -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # closed or absent
            stream.flush()
    os._exit(0)


class FastExit(WorkerPlugin):
    """Arms `_exit_now` to run at interpreter exit once the worker has closed."""

    name = "planner-fast-exit"

    def teardown(self, worker: Any) -> None:
        """Called as the worker closes: from here its process has nothing left to tear down."""
        atexit.register(_exit_now)  # registered last, so it runs first at exit
