package runtime_test

import (
	"context"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

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
	// About 30 arrivals were due; a timer could be late, never early.
	if a := res.Arrivals; a.Planned < 30 || a.Planned > 200 || a.Dropped == 0 {
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
