# ntx: `make test` runs vet and every test; `make demo` runs a real
# scenario against the built-in target on loopback.
GO      ?= go
BIN     := bin/ntx
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEMO    ?= scripts/demo.yaml
TARGET_HTTP := 127.0.0.1:18080

STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/staticcheck-$(STATICCHECK_VERSION)

.PHONY: all build vet lint test demo bench bench-fleet fuzz clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/ntx

vet:
	$(GO) vet ./...

# staticcheck is pinned and installed into bin/ from the Go module proxy
# the first time it is needed.
$(STATICCHECK):
	@mkdir -p bin
	GOBIN=$(CURDIR)/bin/.staticcheck GOFLAGS= $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv bin/.staticcheck/staticcheck $@ && rmdir bin/.staticcheck

lint: $(STATICCHECK)
	$(STATICCHECK) ./...

# -race fits CI's budget: the whole suite runs in a few minutes.
test: vet lint
	$(GO) test -race -count=1 ./...

# Starts the built-in target, runs the demo scenario from a pool of
# 127.0.0.x source addresses, prints the summary, stops the target.
demo: build
	@set -e; \
	$(BIN) serve >/dev/null & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null || true' EXIT; \
	for i in $$(seq 1 100); do \
	  kill -0 $$pid 2>/dev/null || { echo "make demo: ntx serve did not start (is $(TARGET_HTTP) in use?)" >&2; exit 1; }; \
	  if (exec 3<>/dev/tcp/$(subst :,/,$(TARGET_HTTP))) 2>/dev/null; then break; fi; \
	  sleep 0.05; \
	done; \
	$(BIN) exec $(DEMO)

# The side-by-side benchmark (docs/benchmarks.md): nginx on loopback as
# the target; ntx (YAML, Starlark, custom action), hey and wrk on the same
# workload; then 10,000 users for memory. Installs nginx and wrk from
# Debian and hey from the Go module proxy when they are missing.
bench: build
	@command -v nginx >/dev/null && command -v wrk >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null)
	@test -x bin/hey || GOBIN=$(CURDIR)/bin GOFLAGS= $(GO) install github.com/rakyll/hey@v0.1.4
	$(GO) run ./cmd/ntxbench --ntx $(BIN) --hey bin/hey

# The cost of a fleet's coordination: 2 coordinated segments beside one
# process doing the same work (docs/fleet.md). TARGET=host:port for nginx.
bench-fleet: build
	sh scripts/bench-fleet.sh

# Runs each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./engine/internal/scenario -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./engine/internal/expr -run '^$$' -fuzz FuzzTemplate -fuzztime $(FUZZTIME)
	$(GO) test ./engine/internal/compile -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME)
	$(GO) test ./engine/internal/runtime -run '^$$' -fuzz FuzzStarScenario -fuzztime $(FUZZTIME)
	$(GO) test ./engine/transport -run '^$$' -fuzz FuzzHTTPResponse -fuzztime $(FUZZTIME)

clean:
	rm -rf bin
