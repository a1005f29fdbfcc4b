# Quick start: `make run` serves Pixtrio on the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive the system's Chromium; Playwright must never fetch its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test lint chromium compiler bench clean

$(STAMP): pyproject.toml | compiler
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/pixtrio serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Installs Debian's chromium (as root, with apt) when it is missing; otherwise names the package.
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	  else \
	    echo "the browser tests need Chromium: install the Debian/Ubuntu package 'chromium'" \
	         "(apt-get install chromium, as root)" >&2; \
	    exit 1; \
	  fi; }

# pdqhash (Meta's PDQ) ships as source only: pip builds it with a C++ compiler. Installs
# Debian's g++ (as root, with apt) when there is none; otherwise names the package.
compiler:
	@command -v c++ >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y g++; \
	  else \
	    echo "installing needs a C++ compiler for pdqhash: install the Debian/Ubuntu package" \
	         "'g++' (apt-get install g++, as root)" >&2; \
	    exit 1; \
	  fi; }

test: lint chromium
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench.profile_lookup
	$(BIN)/python -m bench.photo_pipeline
	$(BIN)/python -m bench.uploads
	$(BIN)/python -m bench.video_pipeline
	$(BIN)/python -m bench.feed_writes
	$(BIN)/python -m bench.feed_read
	$(BIN)/python -m bench.realtime
	$(BIN)/python -m bench.web_weight
	$(BIN)/python -m bench.web_speed
	$(BIN)/python -m bench.pdq

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
