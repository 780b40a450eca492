# graduatorie — the two commands a newcomer needs are `make run` and `make test`.
CARGO ?= cargo
FUZZ_SECONDS ?= 30
export CARGO_TERM_COLOR ?= never
export PROPTEST_CASES ?= 256

.PHONY: run test build lint unit cases fuzz api-fuzz fmt clean bench-store

## Build, check every regulation in config/rules/, then serve on http://127.0.0.1:8080 with the
## embedded SQLite database (data/graduatorie.db, created and migrated on start) in demo mode: demo
## data loaded on the first start, development login on, demo credentials printed. Ctrl-C stops it.
run: build
	./target/debug/graduatorie rules check config/rules/*.toml
	GRADUATORIE__LOG__FORMAT=text ./target/debug/graduatorie serve --demo

build:
	$(CARGO) build --locked --bin graduatorie

## Everything CI checks: formatting, lints, the heart crates' purity, all tests, a short fuzzing pass
## of the rules engine and an OpenAPI-driven fuzzing pass of the HTTP API.
test: lint unit fuzz api-fuzz

## The store's tests run on SQLite and on PostgreSQL: scripts/with-postgres.sh finds a server on
## 127.0.0.1:5432 or starts a throwaway one (installing Debian's postgresql if missing), and fails loudly.
unit:
	scripts/with-postgres.sh $(CARGO) test --locked --workspace --all-targets
	$(CARGO) test --locked --workspace --doc
	$(CARGO) run --locked --quiet --bin graduatorie -- rules check config/rules/*.toml
	@$(MAKE) --no-print-directory cases BIN=./target/debug/graduatorie

## Worked examples kept as data: config/cases/NAME.json is checked against config/rules/NAME.toml.
BIN ?= ./target/debug/graduatorie
cases:
	@for f in config/cases/*.json; do \
	  $(BIN) rules test config/rules/$$(basename $$f .json).toml $$f || exit 1; \
	done

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	@for p in graduatorie-domain graduatorie-rules graduatorie-ranker; do \
	  if $(CARGO) tree --locked -p $$p -e normal --prefix none | grep -qE '^(diesel|actix-web|tokio|reqwest) '; then \
	    echo "error: $$p depends on storage/HTTP/async crates; keep the heart crates pure" >&2; exit 1; fi; \
	done

## Coverage-guided fuzzing of the rules compiler and evaluator, seeded with the real regulations.
## cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the stable toolchain.
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install --locked cargo-fuzz --version 0.13.2
	mkdir -p fuzz/corpus/rules
	cp config/rules/*.toml fuzz/corpus/rules/
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run rules corpus/rules -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1

## Durable submissions per second on SQLite and PostgreSQL (docs/performance.md). Starts its own
## PostgreSQL cluster with fsync and synchronous_commit on, whatever else is running.
bench-store:
	GRADUATORIE_PG_DURABLE=1 scripts/with-postgres.sh $(CARGO) bench --locked -p graduatorie-store --bench throughput

## OpenAPI-driven fuzzing of the HTTP API (schemathesis from PyPI, in target/api-fuzz-venv) against
## `graduatorie serve --demo`, as a family and as an operator (docs/testing.md).
API_FUZZ_SECONDS ?= 60
api-fuzz: build
	API_FUZZ_SECONDS=$(API_FUZZ_SECONDS) scripts/api-fuzz.sh

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
