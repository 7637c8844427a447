"""The local cluster's workers end without interpreter teardown once closed
(planner/dask_fast_exit.py): output is flushed, the status is 0, and the cluster stops at once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import psutil

from planner.dask_cluster import dask_client


def test_an_armed_process_flushes_its_output_and_exits_with_status_0() -> None:
    code = (
        "import sys, logging\n"
        "from planner.dask_fast_exit import FastExit\n"
        "logging.basicConfig(stream=sys.stderr)\n"
        "FastExit().teardown(None)\n"
        "sys.stdout.write('kept')\n"  # no newline: only a flush writes it
        "logging.getLogger('t').error('logged')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert done.stdout == "kept"
    assert "logged" in done.stderr


def has_plugin(dask_worker: Any) -> bool:
    return "planner-fast-exit" in dask_worker.plugins


def test_a_local_clusters_workers_get_the_plugin_and_are_gone_when_it_stops() -> None:
    with dask_client("local", 1) as client:
        pids = list(client.run(os.getpid).values())
        assert list(client.run(has_plugin).values()) == [True]
    deadline = time.monotonic() + 5
    while any(psutil.pid_exists(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(psutil.pid_exists(p) for p in pids)
