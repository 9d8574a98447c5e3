PYTHON ?= python3

.PHONY: install test lint demo

install:
	$(PYTHON) -m pip install --quiet -e ".[test]"

lint:
	$(PYTHON) -m ruff check iqpgen tests examples benchmarks
	$(PYTHON) -m ruff format --check iqpgen tests examples benchmarks

test: install lint
	$(PYTHON) -m pytest -q tests --doctest-modules iqpgen

demo: install
	$(PYTHON) examples/demo.py --out runs/demo
