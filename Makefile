PYTHON ?= python3

.PHONY: install test lint demo docs

install:
	$(PYTHON) -m pip install --quiet -e ".[test,docs,hardware]"

lint:
	$(PYTHON) -m ruff check --no-cache iqpgen tests examples benchmarks
	$(PYTHON) -m ruff format --no-cache --check iqpgen tests examples benchmarks

test: install lint
	$(PYTHON) -m pytest -q -n 2 --dist loadfile -p no:benchmark tests --doctest-modules iqpgen

demo: install
	$(PYTHON) examples/demo.py --out runs/demo

docs: install
	$(PYTHON) -m sphinx -W --keep-going -b html docs docs/_build/html
