# graduatorie — the two commands a newcomer needs are `make run` and `make test`.
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never
export PROPTEST_CASES ?= 256

.PHONY: run test build lint fmt check-rules clean

## Build and start graduatorie (for now: prints the version and checks the regulations in config/rules).
run: build
	./target/debug/graduatorie version
	./target/debug/graduatorie rules check config/rules/*.toml

build:
	$(CARGO) build --locked --bin graduatorie

## Everything CI checks: formatting, lints, the heart crates' purity, all tests.
test: lint
	$(CARGO) test --locked --workspace --all-targets
	$(CARGO) test --locked --workspace --doc
	./target/debug/graduatorie rules check config/rules/*.toml

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	@for p in graduatorie-domain graduatorie-rules; do \
	  if $(CARGO) tree --locked -p $$p -e normal --prefix none | grep -qE '^(diesel|actix-web|tokio|reqwest) '; then \
	    echo "error: $$p depends on storage/HTTP/async crates; keep the heart crates pure" >&2; exit 1; fi; \
	done

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
