"""Session set-up shared by every test."""

from __future__ import annotations

import os
import tempfile

import pytest

# Commands that keep a run folder by default write under PLANNER_RUNS; tests never touch ./runs.
os.environ.setdefault("PLANNER_RUNS", tempfile.mkdtemp(prefix="planner-test-runs-"))
# The parsed-catalogue cache (planner/cache.py) lives in a folder of this session, never the user's
# (subprocesses inherit it); PLANNER_CACHE=off is kept, to run the suite without the cache.
if os.environ.get("PLANNER_CACHE", "").lower() != "off":
    os.environ["PLANNER_CACHE"] = tempfile.mkdtemp(prefix="planner-test-cache-")
# Piped tables fit COLUMNS (cli/render.py); tests see whole tables unless they set it.
os.environ.pop("COLUMNS", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a slow test run first, in file order. Under `-n 2 --dist loadfile
    --no-loadscope-reorder` (make test) the two workers start on the four slowest files, two
    each, and share the quick ones after; xdist's own order (most tests first) left the minutes
    of the flagship, the serving fit and the full year to the end, one worker idle beside them."""
    slow = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow)
