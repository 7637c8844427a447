"""Session set-up shared by every test."""

from __future__ import annotations

import os
import tempfile

# Commands that keep a run folder by default write under PLANNER_RUNS; tests never touch ./runs.
os.environ.setdefault("PLANNER_RUNS", tempfile.mkdtemp(prefix="planner-test-runs-"))
# Piped tables fit COLUMNS (cli/render.py); tests see whole tables unless they set it.
os.environ.pop("COLUMNS", None)
