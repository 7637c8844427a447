"""The parsed-catalogue cache: the hardware catalogue and the export regimes, validated once.

Reading the 32 part files and 12 regime snapshots means PyYAML, pydantic and pint (most of the
start-up of `planner hardware list` or `planner export classify`, docs/benchmarks.md). Their
validated objects (every figure with its provenance) are kept, pickled, in the user's cache
folder and served while nothing they were read from has changed. The key hashes

- the path and the content of every input file, and the folders they were found in (a file
  added, removed, moved or edited changes it, so a broken file is never served: it is read,
  and refused, as without the cache);
- every Python source file of the `planner` package (the schemas, the readers, unit parsing:
  any change to the code that turns files into objects invalidates it);
- the Python version and the installed pint, pydantic and PyYAML (their files' sizes and dates).

A load that warned (a figure outside its typical range, an overlay shadowing a part) is not kept,
so its warnings are shown every time. Where: `PLANNER_CACHE` (a folder, or `off` to read the files
every time), else `$XDG_CACHE_HOME/power-compute-planner`, else `~/.cache/power-compute-planner`.
One file per kind and set of folders, replaced atomically (planner/atomic.py) when its key changes.
Any trouble with the cache (unreadable, corrupt, stale, unwritable) is silent: the files are read.
The pickles are trusted like the user's own files (pint keeps its unit definitions there the same
way); the folder is created private to the user.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

FORMAT = 1  # bump when the layout of the cache file changes
_PACKAGE = Path(__file__).resolve().parent
_LIBRARIES = ("pint", "pydantic", "yaml")


def cache_dir() -> Path | None:
    """The cache folder, or None when `PLANNER_CACHE=off`."""
    chosen = os.environ.get("PLANNER_CACHE", "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "power-compute-planner"


@cache
def _code_stamp() -> bytes:
    """What the loaded objects depend on besides the files: the planner's source, the Python
    version and the libraries that parse (their installed files' sizes and dates)."""
    digest = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(_PACKAGE)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name in _LIBRARIES:
        spec = find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin is None:
            digest.update(f"{name}: none\0".encode())
            continue
        stat = os.stat(origin)
        digest.update(f"{name}: {origin} {stat.st_size} {stat.st_mtime_ns}\0".encode())
    return digest.digest()


def input_key(kind: str, folders: Sequence[Path], files: Iterable[Path]) -> str:
    """The key of one load: its kind, its folders, and each input file's path and content."""
    digest = hashlib.sha256(_code_stamp())
    digest.update(f"{kind}\0".encode())
    for folder in folders:
        digest.update(f"folder {folder}\0".encode())
    for path in files:
        digest.update(f"file {path}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _frozen(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    """Rebuild a read-only mapping (pickle cannot name `mappingproxy` itself)."""
    return MappingProxyType(mapping)


def _dumps(value: object) -> bytes:
    """Pickle `value`, read-only mappings as plain dicts that load back read-only."""
    import io

    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {MappingProxyType: lambda m: (_frozen, (dict(m),))}
    pickler.dump(value)
    return buffer.getvalue()


def _entry(kind: str, folders: Sequence[Path]) -> Path | None:
    """The cache file of one kind and set of folders (its content key is stored inside)."""
    root = cache_dir()
    if root is None:
        return None
    where = hashlib.sha256("\0".join(str(f) for f in folders).encode()).hexdigest()[:16]
    return root / f"{kind}-{where}.pickle"


def _header(key: str) -> bytes:
    return f"power-compute-planner cache {FORMAT} {key}\n".encode()


def _read(entry: Path, key: str) -> tuple[bool, Any]:
    """(True, value) when `entry` holds `key`'s value; (False, None) on a miss or any trouble.
    A stale entry's objects are never unpickled: the key is compared first."""
    try:
        data = entry.read_bytes()
        header = _header(key)
        if not data.startswith(header):
            return False, None
        return True, pickle.loads(data[len(header) :])
    except Exception:  # absent, unreadable, truncated, written by other code: read the files
        return False, None


def _write(entry: Path, key: str, value: object) -> None:
    """Keep `value` under `key`, atomically; a cache that cannot be written is skipped."""
    try:
        from planner.atomic import atomic_write_bytes

        data = _header(key) + _dumps(value)
        entry.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write_bytes(entry, data)
    except Exception:  # read-only or full disk, a value that does not pickle: no cache
        return


def cached(kind: str, folders: Sequence[Path], files: Sequence[Path], load: Callable[[], T]) -> T:
    """`load()`, or its kept result while `files` (found in `folders`) and the code are unchanged.

    A load that raises (an input error) or warns is never kept: its errors and warnings are
    reported as without the cache, every time. One that warns is read a second time under the
    caller's warning filters, so each warning is shown (or ignored, or raised) exactly as it
    would have been; that costs a second read only when there is something to warn about.
    """
    entry = _entry(kind, folders)
    key = ""
    if entry is not None:
        try:
            key = input_key(kind, folders, files)
        except OSError:  # a file vanished or is unreadable: the load reports it
            entry = None
    if entry is not None:
        hit, value = _read(entry, key)
        if hit:
            return value
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # here only to learn whether the load warns
        try:
            loaded = load()
        except Exception:
            if not caught:
                raise  # an input error without warnings: as without a cache
    if caught:  # not kept; read again, so its warnings (and errors) reach the user as ever
        return load()
    if entry is not None:
        _write(entry, key, loaded)
    return loaded
