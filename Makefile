# genforge: `make demo` trains the demo model, `make test` runs the test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip -q --disable-pip-version-check
# The onnxruntime of the development environment: cpu (onnxruntime) or gpu (onnxruntime-gpu),
# through genforge-runtime's extra; the other one is removed first (both share one folder).
ONNXRUNTIME ?= cpu
OTHER_ORT := $(if $(filter gpu,$(ONNXRUNTIME)),onnxruntime,onnxruntime-gpu)
PROJECTS := $(filter-out exporters/runtime/,$(dir $(wildcard plugins/*/pyproject.toml exporters/*/pyproject.toml examples/*/pyproject.toml)))
# the core and the runtime come first: pip resolves the plugins' `genforge` requirement
# against the local editable projects only when those are named before them
PACKAGES := -e "exporters/runtime[$(ONNXRUNTIME),png]" -e ".[dev,plot,tensorboard]" $(foreach p,$(PROJECTS),-e $(p))
STAMP  := $(VENV)/.genforge-installed

.PHONY: install demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt $(wildcard plugins/*/pyproject.toml exporters/*/pyproject.toml examples/*/pyproject.toml) | $(BIN)/python
	$(PIP) install -c constraints.txt torch
	$(PIP) uninstall -y $(OTHER_ORT) 2>/dev/null || true
	$(PIP) install -c constraints.txt $(PACKAGES)
	@touch $@

install: $(STAMP)  ## create .venv and install genforge, its plugins and the dev tools

demo: install  ## train a conditional GAN on digits, write a 10x10 class grid, export to ONNX and sample it
	rm -rf runs/demo
	$(BIN)/genforge train --model cgan --out runs/demo
	$(BIN)/genforge sample runs/demo -n 100 --labels all --seed 0 --out runs/demo/grid.png
	$(BIN)/genforge export runs/demo --format onnx --out runs/demo/cgan.onnx
	$(BIN)/genforge-run runs/demo/cgan.onnx -n 100 --labels all --seed 0 --out runs/demo/grid-onnx.png
	@echo "demo done: checkpoint runs/demo/checkpoints/latest, class grid runs/demo/grid.png,"
	@echo "           ONNX export runs/demo/cgan.onnx and its class grid runs/demo/grid-onnx.png"

# one worker per core (pytest-xdist); a module's tests stay on one worker, so its fixtures are built once
test: install  ## run the whole test suite
	$(BIN)/python -m pytest -q -n auto --dist loadscope

bench: install  ## print the benchmark figures
	$(BIN)/python benchmarks/train_overhead.py

lint: install  ## ruff, and mypy over the core and the first-party plugins ([tool.mypy] in pyproject.toml)
	$(BIN)/ruff check core plugins exporters examples tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) runs .pytest_cache
