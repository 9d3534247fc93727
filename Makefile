# Every target builds .venv first, so each one works on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint format clean torch-mist-env bench-torch-mist

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

# torch-mist (the peer of the neural bounds) needs numpy<2, pyro-ppl and hydra-core, which
# the project's .venv (numpy 2) cannot hold: it gets a venv of its own, with this package
# installed next to it so that one process can time both (benchmarks/torch_mist_peer.py).
# pandas: torch-mist imports it without declaring it.
TM_VENV := .venv-torch-mist
TM_STAMP := $(TM_VENV)/.installed

torch-mist-env: $(TM_STAMP)

bench-torch-mist: $(TM_STAMP)
	$(TM_VENV)/bin/python benchmarks/torch_mist_peer.py --output bench-torch-mist

$(TM_STAMP): pyproject.toml
	$(PYTHON) -m venv $(TM_VENV)
	$(TM_VENV)/bin/python -m pip install -q --upgrade pip
	$(TM_VENV)/bin/python -m pip install -q "torch==2.13.0"
	$(TM_VENV)/bin/python -m pip install -q "numpy<2" "torch-mist==0.2.17" pandas
	$(TM_VENV)/bin/python -m pip install -q -e .
	touch $(TM_STAMP)

clean:
	rm -rf $(VENV) $(TM_VENV) .pytest_cache .benchmarks
