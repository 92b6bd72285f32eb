# Two set-up commands: `make demo` (a full weekly round on the example scheme) and `make test`.
# Each builds the local virtual environment itself on first use; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
# Two stamps: `make demo` installs what the command needs to run; `make test` adds the test tools.
RUNTIME_STAMP := $(VENV)/.installed-runtime-stamp
DEV_STAMP := $(VENV)/.installed-dev-stamp
# A hung run is stopped after 25 minutes, so its log is still printed.
PYTEST := timeout -k 30 1500 $(VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=12

.PHONY: demo test clean

$(VENV)/bin/python:
	@echo "==> creating the virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "==> installing dependencies (the solver, SQLAlchemy, ...): about a minute on first use"
	$(VENV)/bin/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "==> installing dependencies and the test tools: about a minute on first use"
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	@echo "==> running the demo: three weeks of rounds on the example scheme"
	$(VENV)/bin/reciprocal demo

# The whole suite twice, both runs at once (the machine has two cores): on SQLite, and on a real
# PostgreSQL server that scripts/pg-test-server starts (the Debian cluster 15/main) or finds in
# $RECIPROCAL_TEST_DATABASE_URL. Each run's output is printed when both are done. The target fails
# if either run fails, and fails loudly if PostgreSQL cannot be had: it never skips it.
# The render tests need Debian's chromium, the workbook round trip libreoffice-calc: scripts/test-browser
# installs them when missing (as root);
# a machine where it cannot be had runs the rest and says so loudly at the end.
test: $(DEV_STAMP)
	@work="$$(mktemp -d)"; status=0; \
	browser=yes; bash scripts/test-browser 2> "$$work/browser.log" || browser=no; \
	echo "==> the test suite on SQLite and on PostgreSQL, at once; output follows"; \
	( env -u RECIPROCAL_TEST_DATABASE_URL $(PYTEST) \
		--basetemp="$$work/sqlite" > "$$work/sqlite.log" 2>&1; echo $$? > "$$work/sqlite.rc" ) & \
	( if url="$$(bash scripts/pg-test-server 2> "$$work/server.log")"; then \
		RECIPROCAL_TEST_DATABASE_URL="$$url" $(PYTEST) \
			--basetemp="$$work/postgresql" > "$$work/postgresql.log" 2>&1; echo $$? > "$$work/postgresql.rc"; \
	else \
		cat "$$work/server.log" > "$$work/postgresql.log"; \
		echo "ERROR: no PostgreSQL server for the tests; the suite did NOT run on PostgreSQL" >> "$$work/postgresql.log"; \
		echo 1 > "$$work/postgresql.rc"; \
	fi ) & \
	wait; \
	for backend in sqlite postgresql; do \
		echo "==> test suite on $$backend (exit $$(cat "$$work/$$backend.rc"))"; \
		cat "$$work/$$backend.log"; \
		[ "$$(cat "$$work/$$backend.rc")" = 0 ] || status=1; \
	done; \
	if [ -d "$$work/sqlite/screenshots" ]; then \
		rm -rf test-screenshots; cp -r "$$work/sqlite/screenshots" test-screenshots; \
		echo "==> the pages as Chromium drew them: test-screenshots/"; \
	fi; \
	if [ "$$browser" = no ]; then \
		echo "!!! WARNING: MISSING TEST PACKAGES: the render tests (Chromium) or the workbook round trip (LibreOffice) did NOT run:"; \
		sed 's/^/!!!   /' "$$work/browser.log"; \
	fi; \
	rm -rf "$$work"; \
	exit $$status

clean:
	rm -rf $(VENV) *.egg-info
