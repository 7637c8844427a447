"""A Dask client for the work that runs on a cluster (sweeps, decomposed plans): a local cluster
of single-threaded worker processes, or the running scheduler at an address."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from planner.errors import InputError


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int) -> Iterator[Any]:
    """A Dask client: a LocalCluster of single-threaded worker processes for `local`, otherwise
    the running scheduler at the address (e.g. tcp://127.0.0.1:8786)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler == "local":
        # A killed worker makes its case fail at once here; the sweep resubmits it (bounded).
        with (
            dask.config.set({"distributed.scheduler.allowed-failures": 0}),
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: never clashes with another cluster
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            from planner.dask_fast_exit import FastExit

            client.register_plugin(FastExit())  # its workers end without interpreter teardown
            yield client
        return
    if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
        raise InputError.option(
            "scheduler", f"'{scheduler}' is not 'local' or a scheduler address.",
            "give 'local' or an address such as tcp://127.0.0.1:8786.",
        )  # fmt: skip
    try:
        client = Client(scheduler, timeout=5)
    except OSError as exc:
        raise InputError.option(
            "scheduler",
            f"no Dask scheduler answers at {scheduler} ({exc}).",
            "start one (`dask scheduler`) and workers (`dask worker ADDRESS`), or use 'local'.",
        ) from None
    with client:
        yield client
