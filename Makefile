# The two commands of the README: `make demo` (the main job) and `make test` (the test suite).
# Each creates .venv and installs daekit with its dependencies on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# torch is pinned here to the CPU wheel these machines carry; the package itself asks only torch>=2.2.
TORCH_SPEC ?= torch==2.13.0
# Use the shared copy of MNIST beside the checkout when DAEKIT_DATA is not set.
export DAEKIT_DATA ?= $(if $(wildcard ../shared/data/mnist),$(abspath ../shared/data),)

.PHONY: demo test lint bench install clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/daekit demo --out runs/demo

# The architecture is checked, not hoped: lint and format (ruff), types (mypy), import contracts (import-linter).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest -n 2 -q

bench: $(VENV)/.installed
	for b in benchmarks/[!_]*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) runs build src/*.egg-info
