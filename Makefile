# Two set-up commands: `make demo` (a full weekly round on the example scheme) and `make test`.
# Each builds the local virtual environment itself on first use; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/reciprocal demo

# The whole suite twice: on SQLite, then on a real PostgreSQL server that scripts/pg-test-server
# starts (the Debian cluster 15/main) or finds in $RECIPROCAL_TEST_DATABASE_URL. Both runs always
# happen; the target fails if either fails, and fails loudly if PostgreSQL cannot be had.
test: $(STAMP)
	@status=0; \
	echo "==> test suite on SQLite"; \
	env -u RECIPROCAL_TEST_DATABASE_URL $(VENV)/bin/python -m pytest -q || status=1; \
	echo "==> test suite on PostgreSQL"; \
	if url="$$(scripts/pg-test-server)"; then \
		RECIPROCAL_TEST_DATABASE_URL="$$url" $(VENV)/bin/python -m pytest -q || status=1; \
	else \
		echo "ERROR: no PostgreSQL server for the tests (see above); the suite did NOT run on PostgreSQL" >&2; \
		status=1; \
	fi; \
	exit $$status

clean:
	rm -rf $(VENV) *.egg-info
