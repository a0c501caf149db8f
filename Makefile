# The README's two commands are `sudo make demo` and `sudo make test`; each installs what is missing first.
VENV := .venv
PYTEST := $(VENV)/bin/python -m pytest
# The integration tests run side by side, one lab per pytest-xdist worker (each names its labs after itself):
# on 2 cores, 3 workers were fastest (make test 5 min 15 s; 4 workers 5 min 42 s; BENCHMARKS.md)
WORKERS ?= 3
PARALLEL := -n $(WORKERS) --dist worksteal

.PHONY: install demo test lint unit integration bench clean bundle

install:
	scripts/install.sh

demo: install
	$(VENV)/bin/overlaylab demo

test: install
	scripts/install.sh --test
	$(MAKE) --no-print-directory lint
	$(PYTEST) $(PARALLEL) tests

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

unit: install
	$(PYTEST) tests/unit

integration: install
	$(PYTEST) $(PARALLEL) tests/integration

bench: install
	$(VENV)/bin/overlaylab bench

# everything install.sh downloads, in one archive for a room without a network (install.sh uses it when present)
bundle: install
	scripts/bundle.sh

clean:
	$(VENV)/bin/overlaylab clean
