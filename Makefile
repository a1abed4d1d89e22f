# Two commands on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = "0" ] || echo sudo)

.PHONY: run test lint venv migrate browser bench figures clean

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(PY) -m alembic upgrade head

## Run the product on its embedded defaults (SQLite; sandbox providers unless real credentials are set).
run: venv
	scripts/run-local.sh

## Lint (ruff: pyflakes, pycodestyle, import order, pyupgrade, bugbear) and type-check (mypy, strict on
## connhub/ and checker.py); configuration in pyproject.toml. Zero findings is the bar.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## Lint first, then install what the tests need (including Debian's chromium) and run them all
## (every bench/ script too, at a tiny size: tests/test_benches.py).
test: lint browser
	$(PY) -m pytest

browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

## Benchmark the checker against the sandbox (see README for the figures).
bench: venv
	$(PY) bench/checker.py

## The architecture's figures: import circles, imports back up the layers, modules over 350 lines
## (tests/test_architecture.py holds them; see docs/architecture.md, «Budgets»).
figures: venv
	$(PY) -m tests.support.imports

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
