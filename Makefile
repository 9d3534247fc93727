# Every target builds .venv first, so each one works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format clean

demo: $(STAMP)
	$(BIN)/mi-toolkit demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks -q --benchmark-columns=min,mean,median,rounds --benchmark-sort=name

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# torch is pinned first so that pip takes the local CPU build of 2.13.0; the
# package's own range (torch>=2.2) is then already satisfied and pulls nothing.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev,plot,dask,peers,parquet]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .benchmarks
