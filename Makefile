# Two entry points: `make demo` (install + run the main job) and `make test` (install + every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/planner export classify h20 h200 a800 zhenwu-ppu ascend-910c --buyer CN --date 2026-06-01
	$(BIN)/planner hardware compare h20 h200 zhenwu-ppu ascend-910c --workload qwen3-235b-a22b
	mkdir -p runs
	$(BIN)/planner plan cn_maas_2026 --mip-gap 0.005 --report --out runs/demo-cn-maas-2026
	@echo "report: runs/demo-cn-maas-2026/report.html"
	@$(BIN)/python -c "import json; s = json.load(open('runs/demo-cn-maas-2026/summary.json')); print('demand_met:', str(s['demand_met']).lower())"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(STAMP)
	sh .ci/ensure-chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

clean:
	rm -rf $(VENV) build dist *.egg-info
