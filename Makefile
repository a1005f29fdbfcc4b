# Quick start: `make run` serves Pixtrio on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pixtrio serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m bench.profile_lookup
	$(BIN)/python -m bench.photo_pipeline
	$(BIN)/python -m bench.uploads
	$(BIN)/python -m bench.video_pipeline
	$(BIN)/python -m bench.feed_writes
	$(BIN)/python -m bench.feed_read
	$(BIN)/python -m bench.realtime

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
