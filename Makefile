# Every target sets up what it needs: `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PO := $(wildcard shared/translations/*/LC_MESSAGES/messages.po services/*/translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test test-unit test-fast lint bench bench-all browser-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $@

%.mo: %.po $(STAMP)
	$(VENV)/bin/pybabel compile -f -i $< -o $@ >/dev/null

# The dashboard's charts: plotly.js's partial "finance" bundle (scatter, bar, pie, funnel; 1.3 MB instead of
# the full 4.8 MB), a pinned npm package copied into a git-ignored folder that analytics serves (no CDN).
PLOTLY_NPM := plotly.js-finance-dist-min@4.1.0
PLOTLY_JS := services/analytics/static/vendor/plotly-finance.min.js
$(PLOTLY_JS): Makefile
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq npm >/dev/null; } \
	  || { echo "npm is needed for the chart library: apt-get install npm" >&2; exit 1; }
	rm -rf var/npm && mkdir -p var/npm $(dir $@)
	npm install --no-save --no-audit --no-fund --silent --prefix var/npm $(PLOTLY_NPM)
	cp var/npm/node_modules/plotly.js-finance-dist-min/plotly-finance.min.js $@
	cp var/npm/node_modules/plotly.js-finance-dist-min/LICENSE $(dir $@)plotly-LICENSE

deps: $(STAMP) $(MO) $(PLOTLY_JS)

run: deps  ## start every service on the embedded default at http://127.0.0.1:8000
	$(VENV)/bin/crm serve

test: deps browser-deps  ## the whole suite: unit, service, integration, end-to-end, browser
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

test-unit: deps
	$(PY) -m pytest -p no:cacheprovider tests/unit

test-fast: deps  ## everything but the separate-process, RabbitMQ and browser tests
	$(PY) -m pytest -p no:cacheprovider -m "not e2e and not browser and not rabbitmq"

browser-deps:
	@bash scripts/ensure-browser.sh

lint: deps  ## ruff (with the complexity ceiling), the import contracts, mypy; settings in pyproject.toml
	$(VENV)/bin/ruff check shared services crm tests bench
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

bench: deps
	$(PY) bench/bus.py

bench-all: deps
	bash bench/all.sh

clean:
	rm -rf var .pytest_cache
