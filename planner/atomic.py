"""Durable, atomic writes of files and folders: the one place the project does write-then-rename.

A file is written under a hidden temporary name beside its target, flushed to disk (fsync), renamed
over the target (atomic on POSIX within one file system), and the folder's entry is flushed too.
A reader sees the old file or the new one, whole; a crash, a kill or a power cut never leaves half
a file under the target's name. A folder (a run) is replaced by exchanging it with its finished
twin in one `renameat2(RENAME_EXCHANGE)` call where Linux offers it, so the old folder or the new
one always stands under the name; elsewhere two renames are used and `recover_replaced_dirs`
puts the old folder back if a kill fell between them.

In: a target path and a function that writes a given path. Out: the target, durably written.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

_OLD_MARK = ".old-"  # `.<name>.old-<token>` holds the previous folder during a two-rename swap


def fsync_path(path: Path) -> None:
    """Flush one file's data, or one folder's entries, to the disk."""
    flags = os.O_RDONLY | (os.O_DIRECTORY if Path(path).is_dir() else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` (files first, then their folders, deepest
    first), so a rename that publishes the folder never publishes entries not yet on disk."""
    for here, _dirs, files in os.walk(folder, topdown=False):
        for name in files:
            fsync_path(Path(here) / name)
        fsync_path(Path(here))


def temp_sibling(path: Path, kind: str = "tmp", suffix: str = "") -> Path:
    """A hidden, unused name beside `path`: `.<name>.<kind>-<pid>-<random><suffix>`."""
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.name}.{kind}-{token}{suffix}")


def atomic_write(path: Path, write: Callable[[Path], None], *, keep_suffix: bool = False) -> Path:
    """Call `write(tmp)` on a hidden sibling of `path`, flush it, rename it over `path` and flush
    the folder. On any exception the temporary file is removed and `path` is left as it was.

    `keep_suffix` ends the temporary name in `path`'s suffix, for writers that choose the
    format by it (HiGHS: `.mps`)."""
    path = Path(path)
    tmp = temp_sibling(path, suffix=path.suffix if keep_suffix else "")
    try:
        write(tmp)
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically and durably."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding=encoding)

    return atomic_write(path, write)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically and durably."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    return atomic_write(path, write)


# --------------------------------------------------------------------------- folders

_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _renameat2() -> Callable[..., int] | None:
    """libc's renameat2, or None where the C library has none (not Linux, old glibc)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        func = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


def exchange_paths(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux renameat2 RENAME_EXCHANGE).

    False when the system or file system cannot (the caller then falls back to two renames).
    """
    func = _renameat2()
    if func is None:
        return False
    rc = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(tmp: Path, out: Path, *, flush: bool = True) -> None:
    """Put the finished folder `tmp` at `out`, replacing whatever folder is there, such that a
    kill at any moment leaves the old folder or the new one at `out` (or, in the two-rename
    fallback, the old one recoverable by `recover_replaced_dirs`). Flushes `tmp` first (not with
    `flush` False: a scratch folder nobody keeps, whose contents are written durably elsewhere)."""
    if flush:
        fsync_tree(tmp)
    if not out.exists():
        try:
            os.replace(tmp, out)
        except OSError as exc:  # another writer put a folder there meanwhile: swap with it
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        else:
            fsync_path(out.parent)
            return
    if exchange_paths(tmp, out):
        fsync_path(out.parent)
        shutil.rmtree(tmp, ignore_errors=True)  # now the old folder
    else:  # two renames; a kill between them is undone by recover_replaced_dirs
        holder = temp_sibling(out, "old")
        holder.mkdir()
        os.replace(out, holder / out.name)
        os.replace(tmp, out)
        fsync_path(out.parent)
        shutil.rmtree(holder, ignore_errors=True)


def _holders(parent: Path) -> Iterator[tuple[Path, Path]]:
    """(holder, the folder it held) for every two-rename swap left behind under `parent`."""
    if not parent.is_dir():
        return
    for holder in parent.iterdir():
        if holder.name.startswith(".") and _OLD_MARK in holder.name and holder.is_dir():
            name = holder.name[1:].rsplit(_OLD_MARK, 1)[0]
            yield holder, holder / name


def recover_replaced_dirs(parent: Path, is_complete: Callable[[Path], bool]) -> list[Path]:
    """Finish or undo two-rename swaps a kill interrupted under `parent`; the folders restored.

    When the target is complete the swap had finished: the held old folder is removed. When the
    target is missing or incomplete (an empty reservation) the old folder is moved back.
    """
    restored = []
    for holder, old in _holders(parent):
        target = parent / old.name
        if not is_complete(old):
            pass  # nothing worth keeping (a swap of an empty reservation)
        elif not is_complete(target):
            try:
                os.replace(old, target)  # over a missing target or an empty folder
            except OSError:
                continue  # a non-empty, incomplete target: leave both for a person to judge
            restored.append(target)
            fsync_path(parent)
        shutil.rmtree(holder, ignore_errors=True)
    return restored


def reserve_name(path: Path) -> bool:
    """Claim the name `path` for one writer: True when this call created its hidden reservation
    (`.<name>.reserved`, exclusive create) and no folder of that name exists yet. The owner
    releases it with `release_name` once `path` is written (or abandoned)."""
    mark = path.with_name(f".{path.name}.reserved")
    try:
        fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{os.getpid()}\n")
    if path.exists():
        mark.unlink()
        return False
    return True


def release_name(path: Path) -> None:
    """Drop the reservation `reserve_name` made for `path`."""
    path.with_name(f".{path.name}.reserved").unlink(missing_ok=True)
