# The whole set-up is `make run` (serve the demo register) and `make test` (every test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA_DIR ?= ./var
STAMP  := $(VENV)/.installed

.PHONY: install run demo serve test lint bench evaluate train clean weights fetch-data eval-data

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/tmsearch --data-dir $(DATA_DIR) demo

run: demo
	$(BIN)/tmsearch --data-dir $(DATA_DIR) serve

serve: install
	$(BIN)/tmsearch --data-dir $(DATA_DIR) serve

test: install
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

weights: install
	$(BIN)/python -m scripts.make_standin_weights

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# --- model (issue: trained embedding model) ---------------------------------------
fetch-data: install
	$(BIN)/python -m scripts.fetch_training_data

eval-data: install
	$(BIN)/python -m scripts.build_eval_set

train: install
	$(BIN)/python -m scripts.train

evaluate: install
	$(BIN)/python -m scripts.evaluate --model-card models/MODEL_CARD.md
