# afterclick — the user's verbs. Needs only python3 (3.11), make and git: uv is bootstrapped
# into .tools/ at the pinned version and installs everything else from uv.lock.
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := .tools/bin/uv
PYTHON ?= python3
export UV_PYTHON_PREFERENCE := only-system
export UV_LINK_MODE := copy

.PHONY: setup demo run dashboard docs docs-serve lint test test-fast browser-deps bench clean help

help:  ## list the verbs
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

setup: $(UV)  ## install the locked environment into .venv (with the demo extra and the dev tools)
	$(UV) sync --frozen --all-extras --python $(PYTHON)  # the demo extra too: make demo and the tests need it

demo: setup  ## generate the demo world, run the pipeline once, publish, serve the dashboards
	$(UV) run afterclick demo

run: setup  ## run the pipeline once on what the sources hold now
	$(UV) run afterclick run

dashboard: setup  ## serve the dashboards over the serving snapshot
	$(UV) run afterclick dashboard

browser-deps:  ## Debian's Chromium for the real-browser dashboard test (installed only when missing)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser test (apt-get)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; }

docs: setup  ## build the documentation site strictly into site/ (any warning fails; reference pages generated)
	NO_MKDOCS_2_WARNING=1 $(UV) run mkdocs build --strict  # not --quiet: it hides the warnings strict counts

docs-serve: setup  ## serve the documentation site on http://127.0.0.1:8000 with live reload
	$(UV) run mkdocs serve --dev-addr 127.0.0.1:8000

lint: setup  ## ruff's rules and formatting, then mypy's type check (settings in pyproject.toml)
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

test: setup browser-deps lint docs  ## lint, the docs build, the layers' import rules, then the whole test suite (what CI runs), one pytest-xdist worker per core
	$(UV) run lint-imports  # the contracts in pyproject.toml ([tool.importlinter])
	$(UV) run pytest -n auto --dist worksteal

test-fast: setup  ## the tests without Prefect server or browser
	$(UV) run pytest -n auto --dist worksteal -m "not slow and not browser"

bench: setup  ## the benchmark suite (see benchmarks/README.md)
	$(UV) run python -m benchmarks.run

clean:  ## remove the state dir and build output (not the lock or the code)
	rm -rf .afterclick dbt/target dbt/logs site
