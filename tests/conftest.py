"""Session set-up shared by every test."""

from __future__ import annotations

import os
import tempfile

# Commands that keep a run folder by default write under PLANNER_RUNS; tests never touch ./runs.
os.environ.setdefault("PLANNER_RUNS", tempfile.mkdtemp(prefix="planner-test-runs-"))
# The parsed-catalogue cache (planner/cache.py) lives in a folder of this session, never the user's
# (subprocesses inherit it); PLANNER_CACHE=off is kept, to run the suite without the cache.
if os.environ.get("PLANNER_CACHE", "").lower() != "off":
    os.environ["PLANNER_CACHE"] = tempfile.mkdtemp(prefix="planner-test-cache-")
# Piped tables fit COLUMNS (cli/render.py); tests see whole tables unless they set it.
os.environ.pop("COLUMNS", None)
