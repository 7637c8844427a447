"""A real Dask scheduler and workers on 127.0.0.1, started as processes with the `dask` command
(shared by the sweep and decomposition tests)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

DASK = Path(sys.executable).with_name("dask")


class LoopbackCluster:
    """A `dask scheduler` and `dask worker` processes on 127.0.0.1, stopped at the end."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, env
        self.file = folder / "scheduler.json"
        self.workers: list[subprocess.Popen[bytes]] = []
        self.scheduler = self._start(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.file)], "scheduler"
        )  # fmt: skip
        self.address = self._read_address(time.monotonic() + 60)

    def _read_address(self, deadline: float) -> str:
        """The scheduler's address, once its file is written whole (it appears empty first)."""
        while True:
            try:
                return str(json.loads(self.file.read_text())["address"])
            except (FileNotFoundError, ValueError, KeyError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _start(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def add_worker(self) -> subprocess.Popen[bytes]:
        worker = self._start(
            [str(DASK), "worker", self.address, "--nthreads", "1", "--nworkers", "1",
             "--no-nanny", "--no-dashboard", "--host", "127.0.0.1"],
            f"worker-{len(self.workers)}",
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=60)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=3)  # a scheduler may linger on SIGTERM; nothing of it is kept
            except subprocess.TimeoutExpired:
                process.kill()
