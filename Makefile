# Two commands: `make demo` and `make test`. Both build or refresh .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

NODE_CLIENTS := tests/js/node_modules/.installed

.PHONY: demo test lint fmt audit bench docs screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/spoor demo

# Real JavaScript tracking clients for the compatibility tests (npm registry, at install time).
$(NODE_CLIENTS): tests/js/package.json
	@if command -v npm >/dev/null; then \
	  cd tests/js && npm install --no-audit --no-fund --silent && touch node_modules/.installed; \
	else echo "npm not found: the tests of JavaScript clients will be skipped"; fi

test: $(STAMP) $(NODE_CLIENTS)
	$(BIN)/ruff check src tests bench docs
	$(BIN)/ruff format --check src tests bench docs
	$(BIN)/mypy
	$(BIN)/pytest -n 2

# Known vulnerabilities in the installed dependencies (pip-audit; needs PyPI's JSON API).
# Says AUDIT NOT DONE, without failing, when the service does not answer; ignores with
# reasons in .ci/audit-ignore.txt.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench docs
	$(BIN)/ruff format src tests bench docs

# The generated reference pages; tests check that they are current.
docs: $(STAMP)
	$(BIN)/spoor settings --markdown > docs/settings.md
	$(BIN)/python -m tests.test_docs > docs/cli.md

# The README's pictures of the web app, from the demo data, in Debian's Chromium.
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/import_vs_goaccess.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
