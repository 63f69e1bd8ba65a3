package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Each sample below is a tool's real output recorded on this machine,
// trimmed; the test writes the ones ntxbench reads from files.

const wrkSample = `Running 2s test @ https://127.0.0.1:18443/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.30ms    9.35ms 175.76ms   97.85%
    Req/Sec    19.58k     4.45k   23.07k    92.11%
  Latency Distribution
     50%  364.00us
     75%    1.21ms
     90%    1.38ms
     99%   40.18ms
  74699 requests in 2.07s, 10.69MB read
  Socket errors: connect 0, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:  36150.32
Transfer/sec:      5.17MB
`

const bombardierSample = `{"spec":{"numberOfConnections":50,"testType":"timed","testDurationSeconds":2,"method":"GET","url":"http://127.0.0.1:18090/","body":"","stream":false,"timeoutSeconds":2,"client":"fasthttp"},"result":{"bytesRead":3876600,"bytesWritten":1628172,"timeTakenSeconds":2.0,"req1xx":0,"req2xx":25844,"req3xx":0,"req4xx":6,"req5xx":0,"others":2,"latency":{"mean":3865.1254449775574,"stddev":4863.381393602399,"max":41000,"percentiles":{"50":1816,"75":5104,"90":9330,"95":13618,"99":32183}},"rps":{"mean":13161.47897703853,"stddev":8357.916362972166,"max":59389.559628847135,"percentiles":{"50":12094.251386,"75":17394.994947,"90":20803.991438,"95":25402.089176,"99":41770.977945}}}}`

const h2loadSample = `starting benchmark...
spawning thread #0: 25 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 2.01s, 35390.50 req/s, 5.06MB/s
requests: 70781 total, 70831 started, 70781 done, 70779 succeeded, 2 failed, 1 errored, 0 timeout
status codes: 70779 2xx, 0 3xx, 4 4xx, 0 5xx
traffic: 10.13MB (10617150) total, 7.29MB (7644564) headers (space savings 0.00%), 207.37KB (212349) data
                     min         max         mean         sd        +/- sd
time for request:      505us    175.42ms      1.33ms      2.56ms    99.68%
time for connect:    23.21ms    198.55ms    112.94ms     46.43ms    64.00%
`

const heySample = `
Summary:
  Total:	2.0011 secs
  Slowest:	0.2937 secs
  Fastest:	0.0000 secs
  Average:	0.0051 secs
  Requests/sec:	9790.4776

Latency distribution:
  10% in 0.0008 secs
  50% in 0.0020 secs
  99% in 0.0472 secs

Status code distribution:
  [200]	19592 responses
  [503]	8 responses

Error distribution:
  [3]	Get "https://127.0.0.1:18443/": dial tcp 127.0.0.1:18443: connect: connection refused
`

const vegetaSample = `{"latencies":{"total":57597626933,"mean":2447837,"50th":1315375,"90th":3638231,"95th":9282490,"99th":27909561,"max":80962442,"min":35533},"bytes_in":{"total":70590,"mean":3},"bytes_out":{"total":0,"mean":0},"earliest":"2026-11-27T11:17:40.761605319Z","latest":"2026-11-27T11:17:42.762104745Z","end":"2026-11-27T11:17:42.762963676Z","duration":2000499426,"wait":858931,"requests":23530,"rate":11762.06285999704,"throughput":11757.014888263711,"success":0.999,"status_codes":{"200":23506,"0":24},"errors":[]}`

const autocannonSample = `{"url":"http://127.0.0.1:18090/","connections":50,"duration":2.15,"errors":1,"timeouts":2,"non2xx":5,"latency":{"average":22.21,"mean":22.21,"p50":15,"p99":106},"requests":{"average":2248,"total":4495,"sent":4545}}`

const locustCSVSample = `Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/,3415,0,0,4.833382137628111,0,132,3.0,1688.8335809754276,0.0,0,0,2,5,18,31,40,58,130,130,130
,Aggregated,3415,15,0,4.833382137628111,0,132,3.0,1688.8335809754276,0.0,0,0,2,5,18,31,40,58,130,130,130
`

const locustSummarySample = `Type     Name                                                                          # reqs      # fails |    Avg     Min     Max    Med |   req/s  failures/s
--------|----------------------------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
GET      /item                                                                            643     0(0.00%) |      1       0      71      0 |  686.12        0.00
POST     /login                                                                           643     0(0.00%) |     23       0     326      0 |  686.12        0.00
--------|----------------------------------------------------------------------------|-------|-------------|-------|-------|-------|-------|--------|-----------
         Aggregated                                                                      1286     0(0.00%) |     12       0     326      0 | 1372.25        0.00

Response time percentiles (approximated)
Type     Name                                                                                  50%    66%    75%    80%    90%    95%    98%    99%  99.9% 99.99%   100% # reqs
--------|--------------------------------------------------------------------------------|--------|------|------|------|------|------|------|------|------|------|------|------
GET      /item                                                                                   0      0      0      0      2      4      7     34     71     71     71    643
--------|--------------------------------------------------------------------------------|--------|------|------|------|------|------|------|------|------|------|------|------
         Aggregated                                                                              1      2      5      8     33     65    230    270    320    330    330   1286
`

const artillerySample = `{"aggregate": {"counters": {"vusers.created": 50, "http.requests": 330, "http.codes.200": 328, "http.codes.500": 2, "http.responses": 330, "vusers.failed": 0}, "firstCounterAt": 1795779393934, "lastCounterAt": 1795779396294, "summaries": {"http.response_time": {"min": 0, "max": 326, "count": 328, "mean": 79.6, "p50": 68.7, "p99": 198.4}}}}`

const tsungSample = `# stats: dump at 1795779394
stats: users 50 50
stats: {cpu,"tsung_controller@vm"} 1 92.8 0 92.8 92.8 0 0
stats: request 30000 2.0 2.68 73.686 0.035 0 0
stats: page 15000 4.3 4.3 89.747 0.099 0 0
stats: 200 29990 29990
# stats: dump at 1795779404
stats: request 10000 4.0 2.68 73.686 0.035 2.5 40000
stats: 200 10000 39990
stats: 403 10 10
stats: error_abort 1 1
`

const sTimeSample = `Collecting connection statistics for 2 seconds
***************
447 connections in 0.37s; 1208.11 connections/user sec, bytes read 64815
447 connections in 3 real seconds, 145 bytes read per connection
Collecting connection statistics for 2 seconds
***************
983 connections in 0.61s; 1611.48 connections/user sec, bytes read 142535
983 connections in 3 real seconds, 145 bytes read per connection
`

const ntxSample = `{"duration_ms": 2000, "http": {"min": 0.022, "mean": 3.725, "p50": 2.013, "p90": 7.671, "p99": 38.559},
 "actions": {"item": {"kind": "http", "count": 12900, "ok": 12890, "failed": 10}, "login": {"kind": "http", "count": 12900, "ok": 12900, "failed": 0},
             "wrap": {"kind": "custom", "count": 12900, "ok": 12900, "failed": 0}}}`

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func TestParsers(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tsungLog := write("tsung.log", tsungSample)
	cases := []struct {
		name  string
		parse func() (measured, error)
		want  measured
	}{
		{"wrk", func() (measured, error) { return parseWrk(wrkSample) },
			measured{RPS: 36150.32, Requests: 74699, Errors: 5 + 3, P50: 0.364, P99: 40.18, Mean: none}},
		{"bombardier", func() (measured, error) { return parseBombardier(bombardierSample) },
			measured{RPS: 25844 / 2.0, Requests: 25852, Errors: 8, P50: 1.816, P99: 32.183, Mean: 3.8651254449775574}},
		{"h2load", func() (measured, error) { return parseH2load(h2loadSample) },
			measured{RPS: 35390.50, Requests: 70781, Errors: 2 + 1 + 4, P50: none, P99: none, Mean: 1.33}},
		{"hey", func() (measured, error) { return parseHey(heySample) },
			measured{RPS: 9790.4776, Requests: 19592 + 8 + 3, Errors: 8 + 3, P50: 2.0, P99: 47.2, Mean: 5.1}},
		{"vegeta", func() (measured, error) { return parseVegeta(vegetaSample) },
			measured{RPS: 11757.014888263711, Requests: 23530, Errors: 24, P50: 1.315375, P99: 27.909561, Mean: 2.447837}},
		{"autocannon", func() (measured, error) { return parseAutocannon(autocannonSample) },
			measured{RPS: (4495 - 5) / 2.15, Requests: 4495, Errors: 1 + 2 + 5, P50: 15, P99: 106, Mean: 22.21}},
		{"Locust CSV", func() (measured, error) {
			return fileParse(write("locust_stats.csv", locustCSVSample), parseLocust)("")
		},
			measured{RPS: 1688.8335809754276 * 3400 / 3415, Requests: 3415, Errors: 15, P50: 0, P99: 58, Mean: 4.833382137628111}},
		{"Locust summary", func() (measured, error) { return parseLocustSummary(locustSummarySample) },
			measured{RPS: 1372.25, Requests: 1286, Errors: 0, P50: 1, P99: 270, Mean: 12}},
		{"Artillery", func() (measured, error) {
			return fileParse(write("artillery.json", artillerySample), parseArtillery)("")
		},
			measured{RPS: 328 / 2.36, Requests: 330, Errors: 2, P50: 68.7, P99: 198.4, Mean: 79.6}},
		{"Tsung", func() (measured, error) {
			b, err := os.ReadFile(tsungLog)
			if err != nil {
				return newMeasured(), err
			}
			return parseTsung(string(b), 20)
		}, measured{RPS: (40000 - 10) / 20.0, Requests: 40000, Errors: 10, P50: none, P99: none, Mean: (30000*2.0 + 10000*4.0) / 40000}},
		{"s_time", func() (measured, error) { return parseSTime(sTimeSample, 2) },
			measured{RPS: (447 + 983) / 2.0, Requests: 447 + 983, P50: none, P99: none, Mean: none}},
		{"ntx", func() (measured, error) { return parseNTX(ntxSample) },
			measured{RPS: (12890 + 12900) / 2.0, Requests: 25800, Errors: 10, P50: 2.013, P99: 38.559, Mean: 3.725}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.parse()
			if err != nil {
				t.Fatal(err)
			}
			same := func(a, b opt) bool { return a.ok() == b.ok() && (!a.ok() || near(float64(a), float64(b))) }
			if !near(got.RPS, c.want.RPS) || got.Requests != c.want.Requests || got.Errors != c.want.Errors ||
				!same(got.P50, c.want.P50) || !same(got.P99, c.want.P99) || !same(got.Mean, c.want.Mean) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// TestParsersRefuseOutputWithoutFigures: a tool that failed before
// measuring anything is an error, not a run at 0 requests/s.
func TestParsersRefuseOutputWithoutFigures(t *testing.T) {
	for name, p := range map[string]func(string) (measured, error){
		"wrk": parseWrk, "bombardier": parseBombardier, "h2load": parseH2load, "hey": parseHey, "vegeta": parseVegeta,
		"autocannon": parseAutocannon, "Locust": parseLocust, "Locust summary": parseLocustSummary, "Artillery": parseArtillery,
		"ntx": parseNTX, "Tsung": func(s string) (measured, error) { return parseTsung(s, 10) },
		"s_time": func(s string) (measured, error) { return parseSTime(s, 10) },
	} {
		for _, out := range []string{"", "unable to connect to 127.0.0.1:18090 Connection refused\n", "{}"} {
			if _, err := p(out); err == nil {
				t.Errorf("%s: %q parsed without an error", name, out)
			}
		}
	}
}

func TestSpreadAndMedian(t *testing.T) {
	s := spreadOf([]float64{5, 1, math.NaN(), 3, 9})
	if s != (spread{Min: 1, Median: 4, Max: 9, N: 4}) {
		t.Errorf("even count: %+v", s)
	}
	if s := spreadOf([]float64{2, 7, 3}); s != (spread{Min: 2, Median: 3, Max: 7, N: 3}) {
		t.Errorf("odd count: %+v", s)
	}
	if s := spreadOf([]float64{math.NaN()}); s.N != 0 {
		t.Errorf("nothing measured: %+v", s)
	}
}

// TestRatiosWithinRounds: a ratio pairs runs of the same round, and a
// round where either failed is left out, not counted as 0.
func TestRatiosWithinRounds(t *testing.T) {
	ntx := []run{{Round: 1, measured: measured{RPS: 100}}, {Round: 2, measured: measured{RPS: 50}}, {Round: 3, measured: measured{RPS: 90}}, {Round: 4, measured: measured{RPS: 80}}}
	wrk := []run{{Round: 1, measured: measured{RPS: 200}}, {Round: 2, measured: measured{RPS: 50}}, {Round: 3, measured: measured{RPS: 90}, Err: "killed"}, {Round: 4, measured: measured{RPS: 40}}}
	got := roundRatios(ntx, wrk)
	if want := []float64{0.5, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("ratios %v, want %v", got, want)
	}
	// The median of the ratios, not the ratio of the medians (which
	// would be 85/65 here).
	if s := spreadOf(got); s.Median != 1 {
		t.Errorf("median ratio %v, want 1", s.Median)
	}
}

func TestRotation(t *testing.T) {
	xs := []string{"a", "b", "c", "d"}
	firsts := map[string]int{}
	for r := 0; r < 8; r++ {
		got := rotate(xs, r)
		if len(got) != len(xs) {
			t.Fatalf("round %d: %v", r, got)
		}
		seen := map[string]bool{}
		for _, x := range got {
			seen[x] = true
		}
		if len(seen) != len(xs) {
			t.Errorf("round %d runs %v: not every tool once", r, got)
		}
		firsts[got[0]]++
	}
	for _, x := range xs {
		if firsts[x] != 2 {
			t.Errorf("over 8 rounds %s went first %d times, want 2", x, firsts[x])
		}
	}
	if got := rotate(xs, 1); !slices.Equal(got, []string{"b", "c", "d", "a"}) {
		t.Errorf("round 1: %v", got)
	}
	if rotate([]string{}, 3) != nil {
		t.Error("rotating nothing")
	}
}

// TestSummaryAndGoals: rows from runs, ratios against ntx YAML and
// .star, and a goal met or missed by how much.
func TestSummaryAndGoals(t *testing.T) {
	mk := func(tool string, round int, rps, cpu float64) run {
		return run{Workload: "get50", Tool: tool, Round: round, measured: measured{RPS: rps, Requests: int64(rps * 10), P50: none, P99: 1, Mean: none}, CPU: cpu, CPUPerReq: cpu / (rps * 10) * 1e6}
	}
	runs := []run{
		mk("ntx-yaml", 1, 60, 1), mk("ntx-yaml", 2, 70, 1), mk("ntx-yaml", 3, 80, 1),
		mk("ntx-star", 1, 60, 1), mk("ntx-star", 2, 70, 1), mk("ntx-star", 3, 80, 1),
		mk("wrk", 1, 100, 1), mk("wrk", 2, 100, 1), mk("wrk", 3, 100, 1),
		mk("bombardier", 1, 50, 1), mk("bombardier", 2, 70, 1), mk("bombardier", 3, 40, 1),
	}
	rows := summarize([]workload{{ID: "get50"}}, runs)
	if len(rows) != 4 || rows[0].Tool != "ntx-yaml" || rows[2].Tool != "wrk" {
		t.Fatalf("rows %+v", rows)
	}
	w := findRow(rows, "get50", "wrk")
	if w.YAMLOver != (spread{Min: 0.6, Median: 0.7, Max: 0.8, N: 3}) {
		t.Errorf("ntx YAML ÷ wrk %+v", w.YAMLOver)
	}
	if s := findRow(rows, "get50", "ntx-star").YAMLOver; s.Median != 1 {
		t.Errorf("YAML ÷ .star %+v", s)
	}
	gs := goals(rows, []memoryRun{{Users: 18000, PerUserKiB: 6}, {Users: 100000, PerUserKiB: 2.4}})
	byWhat := map[string]goal{}
	for _, g := range gs {
		byWhat[g.What] = g
	}
	check := func(what string, met bool, by string) {
		t.Helper()
		g, ok := byWhat[what]
		if !ok || g.Met == nil {
			t.Fatalf("goal %q: not evaluated (%+v)", what, g)
		}
		if *g.Met != met || !strings.Contains(g.By, by) {
			t.Errorf("goal %q: met %v, %q; want %v, %q", what, *g.Met, g.By, met, by)
		}
	}
	check("one GET, 50 connections: ntx YAML ÷ wrk", false, "22% short")
	check("one GET, 50 connections: ntx YAML ÷ bombardier", true, "met, 20% above")
	check("YAML ÷ `.star` requests/s, 50 connections", true, "met")
	check("memory per user, 18,000 bound users holding their connections", false, "20% over")
	check("memory per user, 100,000 users holding no idle connection", true, "20% under")
	if g := byWhat["HTTPS keep-alive: ntx ÷ wrk"]; g.Met != nil {
		t.Errorf("a workload not run is a goal not measured: %+v", g)
	}
	// The record keeps "not reported" apart from 0.
	b, err := json.Marshal(rows[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"p50_ms":null`) || !strings.Contains(string(b), `"p99_ms":1`) {
		t.Errorf("JSON of a row: %s", b)
	}
	md := markdown(&report{Workloads: []workload{{ID: "get50", Title: "one GET"}}, Summary: rows, Goals: gs})
	for _, want := range []string{"### one GET", "| wrk | 100 |", "**0.70** (0.60–0.80)", "22% short"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestProfileGroups(t *testing.T) {
	for fn, want := range map[string]string{
		"internal/runtime/syscall/linux.Syscall6":                          "syscalls",
		"syscall.Syscall":                                                  "syscalls",
		"runtime.exitsyscall":                                              "syscalls",
		"go.starlark.net/starlark.(*Function).CallInternal":                "Starlark",
		"github.com/ntx-dev/ntx/engine/metrics.(*Recorder).Record":         "metrics",
		"github.com/HdrHistogram/hdrhistogram-go.(*Histogram).RecordValue": "metrics",
		"github.com/valyala/fasthttp.(*ResponseHeader).parse":              "HTTP client and parsing",
		"github.com/ntx-dev/ntx/engine/transport.(*Source).roundTrip":      "HTTP client and parsing",
		"bufio.(*Reader).Peek":                                             "HTTP client and parsing",
		"github.com/ntx-dev/ntx/stdlib.doHTTP":                             "ntx engine and stdlib",
		"internal/poll.(*FD).Read":                                         "network (net, poll)",
		"runtime.mallocgcSmallScanNoHeader":                                "allocation and GC",
		"runtime.scanobject":                                               "allocation and GC",
		"gcWriteBarrier":                                                   "allocation and GC",
		"internal/runtime/gc/scan.scanSpanPackedAVX512":                    "allocation and GC",
		"runtime.findRunnable":                                             "scheduler",
		"runtime.futex":                                                    "scheduler",
		"runtime.selectgo":                                                 "scheduler",
		"runtime.memmove":                                                  "other runtime",
		"strconv.ParseInt":                                                 "other",
	} {
		if got := classify(fn); got != want {
			t.Errorf("classify(%q) = %q, want %q", fn, got, want)
		}
	}
	top := `File: ntx
Type: cpu
Duration: 10.02s, Total samples = 1.90s (18.96%)
Showing nodes accounting for 1.90s, 100% of 1.90s total
      flat  flat%   sum%        cum   cum%
     0.60s 31.58% 31.58%      0.60s 31.58%  internal/runtime/syscall/linux.Syscall6
   300ms 15.79% 47.37%      1.51s 79.47%  go.starlark.net/starlark.(*Function).CallInternal
     0.10s  5.26% 52.63%      0.12s  6.32%  runtime.nextFreeFast (inline)
     0.90s 47.37%   100%      0.90s 47.37%  strconv.ParseInt
`
	flat, total := parsePprofTop(top)
	if !near(total, 1.9) || !near(flat["go.starlark.net/starlark.(*Function).CallInternal"], 0.3) || !near(flat["runtime.nextFreeFast"], 0.1) {
		t.Fatalf("flat %v total %v", flat, total)
	}
	g := groupFlat(flat, total)
	if !near(g["syscalls"], 0.6/1.9*100) || !near(g["allocation and GC"], 0.1/1.9*100) || !near(g["other"], 0.9/1.9*100) {
		t.Errorf("groups %v", g)
	}
}

// TestMemoryScenario: below the open-file limit users hold their
// connections; beyond it they hold none, and the pool has an address
// for every user.
func TestMemoryScenario(t *testing.T) {
	y, ka := memoryScenario(18000)
	if !ka || !strings.Contains(y, "keep_alive: true") || !strings.Contains(y, `"127.64.0.0/17"`) || !strings.Contains(y, "spawn_users: 18000") {
		t.Errorf("18,000 users:\n%s", y)
	}
	y, ka = memoryScenario(100000)
	if ka || !strings.Contains(y, "keep_alive: false") || !strings.Contains(y, `"127.64.0.0/15"`) {
		t.Errorf("100,000 users:\n%s", y)
	}
}
