# The README's two commands are `sudo make demo` and `sudo make test`; each installs what is missing first.
VENV := .venv
PYTEST := $(VENV)/bin/python -m pytest

.PHONY: install demo test lint unit integration bench clean

install:
	scripts/install.sh

demo: install
	$(VENV)/bin/overlaylab demo

test: install
	$(MAKE) --no-print-directory lint
	$(PYTEST) tests

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

unit: install
	$(PYTEST) tests/unit

integration: install
	$(PYTEST) tests/integration

bench: install
	$(VENV)/bin/overlaylab bench

clean:
	$(VENV)/bin/overlaylab clean
