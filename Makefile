# The whole set-up is `make run` (serve the demo register) and `make test` (every test).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA_DIR ?= ./var
STAMP  := $(VENV)/.installed

.PHONY: install run demo serve test lint bench evaluate train clean fetch-data eval-data fonts \
	browser-deps postgres-deps

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

# Debian's chromium for the browser tests (they skip, saying why, where it cannot be had)
browser-deps: install
	VENV=$(VENV) sh scripts/browser_deps.sh || echo "browser tests will be skipped"

# Debian's PostgreSQL for the tests marked postgres (each test session starts its own
# throw-away server on 127.0.0.1; nothing here is left running)
postgres-deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; then \
		echo "postgresql present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; \
	else echo "install PostgreSQL first: sudo apt-get install postgresql"; exit 1; fi

test: install browser-deps postgres-deps
	$(BIN)/ruff check .
	$(BIN)/pytest

# Ingest, HTTP queries at 10k/100k/1M marks, index types; about 20 min on 2 cores.
# Writes var/bench/results.{json,md}; the README shows the latest table.
bench: install
	$(BIN)/python -m scripts.bench --out $(DATA_DIR)/bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# --- model (issue: trained embedding model) ---------------------------------------
# Word marks are set in the machine's fonts; Debian's packages give Latin and Chinese ones.
FONT_PACKAGES := fonts-dejavu-core fonts-liberation fonts-wqy-zenhei
fonts:
	@if fc-list 2>/dev/null | grep -qi wenquanyi; then echo "fonts present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq $(FONT_PACKAGES); \
	else echo "install the fonts first: sudo apt-get install $(FONT_PACKAGES)"; exit 1; fi

# The shipped model's data: at most 300 icons a set plus 20,000 synthetic marks;
# `make fetch-data FETCH_LIMIT=0` renders every icon (the variant recipe's data, 275k).
FETCH_LIMIT ?= 300
fetch-data: install fonts
	$(BIN)/python -m scripts.fetch_training_data --limit-per-set $(FETCH_LIMIT)

eval-data: install
	$(BIN)/python -m scripts.build_eval_set

train: install
	$(BIN)/python -m scripts.train

# Ranks through a real register of the gallery (var/eval/register, reused while it
# matches); about 30 min on 2 cores. Writes var/eval/results.{json,md}, the model card's
# table and the risk thresholds beside the weights.
evaluate: install
	$(BIN)/python -m scripts.evaluate --batched-similar --model-card models/MODEL_CARD.md \
		--risk-out models/weights/tmsearch-embedder.risk.json
