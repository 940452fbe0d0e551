# feedd — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8080

.PHONY: run build check test lint clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)  # `make run PORT=8090`: another port, with the base URL the feeds link to
	$(BIN)/feedd run -c config/feedd.yaml --port $(PORT) --base-url http://127.0.0.1:$(PORT)/

build: $(STAMP)
	$(BIN)/feedd build -c config/feedd.yaml

check: $(STAMP)
	$(BIN)/feedd check -c config/feedd.yaml

test: $(STAMP)
	$(BIN)/ruff check feedd tests
	$(BIN)/python -m pytest -q

# make bench BENCH_ARGS="--quick"   (flags: .venv/bin/python benchmarks/bench.py --help)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) public state build *.egg-info
