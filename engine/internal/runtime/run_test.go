package runtime_test

import (
	"context"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ntx-dev/ntx/engine/internal/report"
	"github.com/ntx-dev/ntx/engine/internal/runtime"
)

// load loads a .star scenario from src.
func load(t *testing.T, src string) *runtime.Program {
	t.Helper()
	p, err := runtime.Load(filepath.Join(t.TempDir(), "s.star"), []byte(src), runtime.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func checkArrivals(t *testing.T, a *report.Arrivals, planned int64) {
	t.Helper()
	if a == nil {
		t.Fatal("no arrivals in the result")
	}
	if a.Started+a.Dropped != a.Planned {
		t.Errorf("arrivals %+v: planned != started + dropped", *a)
	}
	if planned >= 0 && a.Planned != planned {
		t.Errorf("arrivals %+v: want %d planned", *a, planned)
	}
}

// TestEveryArrivalCounted runs short open-model runs at a high rate with
// flows that take no time, where the last arrival is due 50µs before the
// duration ends. The arrival loop used to stop at the run's deadline, so
// a timer firing late for the last arrival lost it, counted neither as
// started nor as dropped (19,999 of 20,000 in one run of three at
// 2,000/s). Every planned arrival must be started or dropped.
func TestEveryArrivalCounted(t *testing.T) {
	p := load(t, `
scenario = {"load": {"arrival": {"rate": "20000/s", "duration": "50ms"}}}
def flow(user):
    pass
`)
	for i := 0; i < 20; i++ {
		res, err := p.Run(context.Background(), runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkArrivals(t, res.Arrivals, 1000)
		if res.Arrivals.Dropped != 0 || res.Iterations.Total != 1000 {
			t.Fatalf("run %d: arrivals %+v, %d iterations; want all 1000 started and run", i, *res.Arrivals, res.Iterations.Total)
		}
	}
}

// TestInterruptedArrivalsCounted interrupts an open-model run halfway:
// the plan is cut where the run stopped, and what was planned up to then
// was started or dropped.
func TestInterruptedArrivalsCounted(t *testing.T) {
	p := load(t, `
scenario = {"load": {"arrival": {"rate": "100/s", "duration": "10s", "max_users": 3}}}
def flow(user):
    sleep("45ms")
`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	res, err := p.Run(ctx, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkArrivals(t, res.Arrivals, -1)
	// About 30 arrivals were due when the loop saw the interruption
	// (less the time the run took to start, more if it saw it late); the
	// plan of 1000 was cut there.
	if a := res.Arrivals; a.Planned < 5 || a.Planned > 500 || a.Dropped == 0 {
		t.Errorf("arrivals %+v: want about 30 planned before the interruption, some dropped (max_users 3)", *a)
	}
}

// TestArrivalsCutAtDuration gives the arrival window more time than the
// run: the plan ends with the run's duration.
func TestArrivalsCutAtDuration(t *testing.T) {
	p := load(t, `
scenario = {"load": {"duration": "200ms", "arrival": {"rate": "50/s", "duration": "10s"}}}
def flow(user):
    pass
`)
	res, err := p.Run(context.Background(), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkArrivals(t, res.Arrivals, 10)
}

// TestUsersCreatedAsSpawned plans the most users a run may have, spread
// over an hour, and stops after 200ms: only the users spawned by then
// may cost memory. (The plan used to list every user up front: 400 MB
// for this one, and a Go fatal error for spawn_users: 999999999.)
func TestUsersCreatedAsSpawned(t *testing.T) {
	p := load(t, `
scenario = {"load": {"duration": "200ms", "ramp_up": {"phases": [{"spawn_users": 10000000, "spread": "1h"}]}}}
def flow(user):
    pass
`)
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	res, err := p.Run(context.Background(), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	goruntime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d users spawned, %d MiB allocated", res.Users.Spawned, alloc>>20)
	// A user every 360µs: about 550 in 200ms, whatever the machine.
	if res.Users.Spawned == 0 || res.Users.Spawned > 600 {
		t.Errorf("spawned %d users in 200ms, want about 550", res.Users.Spawned)
	}
	if alloc > 64<<20 {
		t.Errorf("the run allocated %d MiB for %d users", alloc>>20, res.Users.Spawned)
	}

	// --users above the limit is refused before anything starts.
	_, err = p.Run(context.Background(), runtime.Options{Users: 10_000_001})
	if err == nil || !strings.Contains(err.Error(), "10000000") {
		t.Errorf("--users 10000001: err = %v", err)
	}
}

// TestLogLinesCut checks that log() and print() lines stop at 64 KiB,
// on a character boundary, and say how long they were.
func TestLogLinesCut(t *testing.T) {
	p := load(t, `
def flow(user):
    big = "é" * (1 << 20)
    log("short", 42)
    log("a", big)
    print(big)
`)
	var out strings.Builder
	if _, err := p.Run(context.Background(), runtime.Options{Log: &out}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "user 1: short 42" {
		t.Fatalf("log = %d lines, first %.80q", len(lines), lines[0])
	}
	for _, c := range []struct{ line, note string }{
		{lines[1], "... [cut: 65536 of 2097154 bytes shown]"},
		{lines[2], "... [cut: 65536 of 2097152 bytes shown]"},
	} {
		if !strings.HasSuffix(c.line, c.note) || len(c.line) > 66<<10 || !utf8.ValidString(c.line) {
			t.Errorf("line of %d bytes ends %q, want it to end %q", len(c.line), c.line[max(0, len(c.line)-60):], c.note)
		}
	}
}

// TestMemoryBombsStopped runs flows that allocate without bound in a
// few Starlark steps, which the step limit does not see: the iteration
// is stopped by the heap watch with an error at its line, and the
// heap the process took from the system stays far below what the bomb
// would reach (each would pass 1 GiB; the limit is 32 MiB, and the watch
// may lag a doubling or two behind a value that doubles). HeapSys never
// shrinks, so its growth bounds the run's peak heap.
func TestMemoryBombsStopped(t *testing.T) {
	for _, c := range []struct{ name, flow, line string }{
		{"doubling string", `
def flow(user):
    s = "x" * 1024
    for i in range(20):
        s = s + s
    log(len(s))
`, "s.star:[45]:"}, // the loop or its body, depending on when the watch looks
		{"doubling list", `
def flow(user):
    l = [0]
    for i in range(26):
        l = l + l
    log(len(l))
`, "s.star:[45]:"},
		{"joined strings", `
def flow(user):
    parts = []
    for i in range(64):
        parts.append("x" * (16 << 20))
        log(len(",".join(parts)))
`, "s.star:[3-6]:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := load(t, c.flow)
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			res, err := p.Run(context.Background(), runtime.Options{MaxMemory: 32 << 20})
			goruntime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			msg := res.Errors["iteration memory"]
			t.Logf("%+v: %s", res.Iterations, msg)
			if res.Iterations.Failures["memory"] != 1 || !regexp.MustCompile("/"+c.line).MatchString(msg) || !strings.Contains(msg, "past --max-memory (32 MiB)") {
				t.Errorf("iterations %+v, message %q; want it stopped at %s", res.Iterations, msg, c.line)
			}
			grew := int64(after.HeapSys) - int64(before.HeapSys)
			t.Logf("the heap took %d MiB more from the system", grew>>20)
			if grew > 1<<30 { // unstopped, the bomb takes 1.5 GiB and more
				t.Errorf("the heap grew by %d MiB under a 32 MiB limit", grew>>20)
			}
		})
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{
		"256MiB": 256 << 20, "2GiB": 2 << 30, "1.5 GiB": 3 << 29, "500MB": 500e6, "4096": 4096, "64KiB": 64 << 10, "0": -1, "0MiB": -1,
	} {
		if got, err := runtime.ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-1MiB", "12 parsecs", "1e300GiB", "NaN"} {
		if _, err := runtime.ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q) accepted", bad)
		}
	}
}
