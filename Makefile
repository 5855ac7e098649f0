# imgdesc — set-up and checks. `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pyproject pins torch==2.13.0: the CPU build pip finds on local disk here (an
# open range would pull a multi-GB CUDA build).

.PHONY: install test lint typecheck pytest serve bench eval clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

test: lint typecheck pytest

serve: install
	mkdir -p images data
	$(BIN)/imgdesc serve --host 127.0.0.1 --port 8000 --watch images --data-dir data

bench: install
	$(BIN)/imgdesc bench --output docs/bench-describe.md

# Both dev sets, classic captioner, each beside the naive baseline (docs/EVALUATION.md).
# The shared photo set is read where it lies, never copied into the repository.
SHARED_DEVSET ?= ../shared/devset
eval: install
	$(BIN)/imgdesc eval --captioner classic --no-clip --output eval-results/devset
	@if [ -d $(SHARED_DEVSET)/images ]; then \
		$(BIN)/imgdesc eval $(SHARED_DEVSET)/images --references $(SHARED_DEVSET)/references.toml \
			--captioner classic --no-clip --output eval-results/shared; \
	else \
		echo "skipping the shared photo set: $(SHARED_DEVSET)/images not found"; \
	fi

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
