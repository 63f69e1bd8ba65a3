# ntx: `make test` runs vet and every test; `make demo` runs a real
# scenario against the built-in target on loopback.
GO      ?= go
BIN     := bin/ntx
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEMO    ?= scripts/demo.yaml
TARGET_HTTP := 127.0.0.1:18080

STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/staticcheck-$(STATICCHECK_VERSION)

.PHONY: all build vet lint test demo bench bench-quick bench-fleet fuzz screenshots clean

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
	$(GO) test -count=1 -run 'Allocs' ./engine/internal/runtime ./stdlib

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

# Renders the HTML report and the live dashboard in headless Chromium, to
# look at: the report of a synthetic 10-minute run with 20 actions (made
# by a test), and the demo run for 15 s against the built-in target, its
# dashboard caught mid-run and its report. PNGs go to $(SHOTS).
SHOTS    ?= bin/screenshots
CHROMIUM ?= chromium
DASH     ?= 127.0.0.1:18089
CHROME = timeout 60 $(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
	--window-size=1400,3000 --user-data-dir=$$(mktemp -d)
# A file: the script has drawn it once the budget of virtual time is spent.
SHOT = $(CHROME) --virtual-time-budget=3000
# The live page: its event stream never idles, so virtual time would wait
# for the run's end; take it after 3 s of real time instead.
LIVESHOT = $(CHROME) --timeout=3000
screenshots: build
	@command -v $(CHROMIUM) >/dev/null || { echo "make screenshots: needs $(CHROMIUM) (apt-get install chromium)" >&2; exit 1; }
	@mkdir -p $(SHOTS)
	NTX_REPORT_DIR=$(CURDIR)/$(SHOTS) $(GO) test -count=1 -run TestReportOfALongRun ./engine/internal/report
	$(SHOT) --screenshot=$(SHOTS)/synthetic-report.png file://$(CURDIR)/$(SHOTS)/synthetic-report.html 2>/dev/null
	@set -e; \
	$(BIN) serve >/dev/null & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null || true' EXIT; \
	for i in $$(seq 1 100); do \
	  if (exec 3<>/dev/tcp/$(subst :,/,$(TARGET_HTTP))) 2>/dev/null; then break; fi; sleep 0.05; \
	done; \
	$(BIN) exec -q $(DEMO) --iterations 1000000 --duration 15s --dashboard $(DASH) --linger 60s \
	  --report $(SHOTS)/demo-report.html --out $(SHOTS)/demo-result.json 2>$(SHOTS)/exec.log & run=$$!; \
	sleep 4; $(LIVESHOT) --screenshot=$(SHOTS)/dashboard-live.png http://$(DASH)/ 2>/dev/null; \
	until grep -q "serving the final state" $(SHOTS)/exec.log; do kill -0 $$run; sleep 0.2; done; \
	$(SHOT) --screenshot=$(SHOTS)/dashboard-final.png http://$(DASH)/ 2>/dev/null; \
	kill -INT $$run; \
	wait $$run || true; \
	$(SHOT) --screenshot=$(SHOTS)/demo-report.png file://$(CURDIR)/$(SHOTS)/demo-report.html 2>/dev/null
	@ls -l $(SHOTS)/*.png

# The side-by-side benchmark (docs/benchmarks.md): nginx on loopback as
# the target (a certificate made at start; https, h2), and ntx (YAML,
# .star, custom action) beside wrk, bombardier, h2load, hey, vegeta,
# autocannon, Locust, Artillery, Tsung and openssl s_time, in interleaved
# rounds, CPU per tool from a cgroup; then ntx's memory per user at
# 10,000, 18,000 and 100,000 users, and a profile. Installs what is
# missing (scripts/bench/install.sh) and skips, with the reason, what
# cannot be installed. Results: bin/bench/results.{md,json}.
# BENCH_ARGS passes options: --rounds 5 --duration 10s --workloads
# get50,https --tools ntx-yaml,wrk (go run ./cmd/ntxbench -h lists them).
BENCH_ARGS ?=
bench: build
	@sh scripts/bench/install.sh
	$(GO) run ./cmd/ntxbench --ntx $(BIN) $(BENCH_ARGS)

# About a minute: the harness end to end on two workloads, 3 rounds of 1 s.
bench-quick: build
	@sh scripts/bench/install.sh
	$(GO) run ./cmd/ntxbench --ntx $(BIN) --rounds 3 --duration 1s --pause 500ms --workloads get50,https \
	  --tools ntx-yaml,ntx-star,wrk,bombardier,h2load,hey --profile=false $(BENCH_ARGS)

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
