# Two promises: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit docs clean bench system-packages

# Debian packages for OCR (Tesseract with English and Malay) and, for the review UI's browser
# tests, Chromium; installed when we may (root).
OCR_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-msa fonts-dejavu-core
SYSTEM_PACKAGES := $(OCR_PACKAGES) chromium
demo: SYSTEM_PACKAGES := $(OCR_PACKAGES)

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "note: missing$$missing (sudo apt-get install$$missing); OCR or browser tests will skip"; fi; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: system-packages $(STAMP)
	$(BIN)/perisai demo --out demo-case

test: system-packages $(STAMP) lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/python -m pytest -q; rc=$$?; [ $$rc -eq 5 ] && echo "pytest: no tests collected" && rc=0; exit $$rc

docs: $(STAMP)
	$(BIN)/python -m perisai.docgen > docs/cli.md

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) demo-case .pytest_cache .mypy_cache .ruff_cache
