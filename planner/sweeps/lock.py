"""One sweep at a time per sweep folder: an exclusive lock a second sweep is refused by.

The lock is `fcntl.flock` on `DIR/.sweep.lock`: the kernel drops it when its holder exits, however
it exits (a SIGKILL included), so a lock never goes stale. The file records who holds it (host,
pid, start time) so the refusal can say so. In: a sweep folder. Out: the folder held for the
duration of a `with` block, or an InputError (exit 2) naming the holder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from planner.errors import InputError

LOCK_FILE = ".sweep.lock"


def _holder(lock: Path) -> str:
    try:
        return lock.read_text(encoding="utf-8").strip() or "another process"
    except OSError:
        return "another process"


@contextlib.contextmanager
def sweep_lock(folder: Path) -> Iterator[Path]:
    """Hold `folder` (created if missing) for one sweep; refuse at once if another holds it.

    A folder this call created is removed again when the block fails before writing anything
    but the lock, so a sweep refused early (bad scheduler, say) leaves no folder behind.
    """
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_FILE
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError.one(
                folder,
                "",
                f"another sweep is writing this folder ({_holder(lock)}); two sweeps into one "
                "folder would solve the same cases twice.",
                "wait for it to finish (then rerun: finished cases are skipped), or write this "
                "sweep into another folder.",
            ) from None
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}, since {started}\n".encode())
        ok = False
        try:
            yield folder
            ok = True
        finally:
            if not ok and created and {p.name for p in folder.iterdir()} <= {LOCK_FILE}:
                lock.unlink(missing_ok=True)
                folder.rmdir()
    finally:
        os.close(fd)  # releases the lock
