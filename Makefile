# agentscaling: the two commands are `make reproduce` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PRESET ?= cpu
OUT    ?= reports/$(PRESET)
SOURCES = lib tests benchmarks notebooks

.PHONY: setup test lint reproduce readme lab clean-reports bench

# Idempotent: the stamp file is rebuilt only when pyproject.toml changes.
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first: 2.13.0 is the CPU build on this machine's disk; anything else pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,notebooks,cluster]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# Lint, format and the layering contracts (pyproject.toml), then every test (notebooks included).
test: setup lint
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)
	$(VENV)/bin/lint-imports --no-logo

reproduce: setup
	$(PY) -m agentscaling reproduce --preset $(PRESET) --out $(OUT)

# JupyterLab on the project's venv and kernel, on this machine only (127.0.0.1); root is allowed where the
# user is root (containers). Open the printed URL (it carries the login token). Each live chart carries
# its own vega bundle (~0.9 MB), so the output rate limit is raised above a few charts per second.
lab: setup
	$(VENV)/bin/jupyter lab --ip 127.0.0.1 --no-browser --ServerApp.root_dir=. \
		--ServerApp.iopub_data_rate_limit=1e10 \
		--LabApp.default_url=/lab/tree/notebooks $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# Copy reports/$(PRESET)/summary.md into README.md's generated block.
readme: setup
	$(PY) -m agentscaling readme --preset $(PRESET)

bench: setup
	$(PY) benchmarks/train_throughput.py --quick

clean-reports:
	rm -rf reports/smoke
