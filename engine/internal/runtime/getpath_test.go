package runtime

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// The whole plain GET step, as a run makes it: a user's iteration of
// the flow (YAML-compiled or .star), the http built-in, the transport
// over a kept-alive loopback connection, and the run's metrics. The
// server is a few lines that allocate nothing per request, so that the
// process's allocations are the client's alone.

// rawServer answers every request on a connection with the same small
// response, without allocating per request. It knows only requests
// without bodies: each ends with an empty line.
func rawServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				state := 0 // how much of "\r\n\r\n" was seen last
				for {
					n, err := c.Read(buf)
					for _, ch := range buf[:n] {
						switch {
						case ch == '\r' && state%2 == 0:
							state++
						case ch == '\n' && state%2 == 1:
							state++
						case ch == '\r':
							state = 1
						default:
							state = 0
						}
						if state == 4 {
							state = 0
							if _, err := c.Write(answer); err != nil {
								return
							}
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// getStepYAML and getStepStar are the one-GET workload of make bench,
// in both forms.
const (
	getStepYAML = `
name: get
actions:
  - {id: get, call: get, with: {url: "http://%s/"}}
tasks:
  - {id: start, action: get}
`
	getStepStar = `
def flow(user):
    http.get("http://%s/", name = "get")
`
)

// stepUser loads src (a YAML scenario, or .star when star) against a
// raw server and returns a user of a run ready to run iterations, as
// the run's own users do, one at a time.
func stepUser(tb testing.TB, star bool) *user {
	tb.Helper()
	return stepRun(tb, star)(1)
}

// stepRun is stepUser for many users of one run: it returns what makes
// user id, warmed up.
func stepRun(tb testing.TB, star bool) func(id int) *user {
	tb.Helper()
	addr := rawServer(tb)
	file, src := "get.yaml", fmt.Sprintf(getStepYAML, addr)
	if star {
		file, src = "get.star", fmt.Sprintf(getStepStar, addr)
	}
	p, err := Load(filepath.Join(tb.TempDir(), file), []byte(src), LoadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	r := &run{p: p, s: p.Scenario, net: transport.New(transport.Options{}), http: httpConfig(p.Scenario)}
	tb.Cleanup(r.net.Close)
	if err := r.setup(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	r.col = metrics.New(metrics.Config{})
	r.interrupt, r.stopSpawning, r.hard, r.origin = ctx, ctx, ctx, time.Now()
	r.net.CloseWith(ctx) // as Run does
	return func(id int) *user {
		u := r.newUser(r.newBinding(id, spawnPlan{}), 0, time.Time{}, ctx)
		for range 3 { // the connection made, and every lazy first use done
			u.step(tb)
		}
		return u
	}
}

// step runs one iteration and fails tb unless it passed.
func (u *user) step(tb testing.TB) {
	if u.iteration() != think {
		tb.Fatal("the iteration stopped the user")
	}
	if f := u.r.col.Result("x").Iterations.Failed; f > 0 {
		tb.Fatalf("%d iterations failed: %v", f, u.r.col.Result("x").Errors)
	}
}

// BenchmarkGetStep is the whole plain GET step over loopback, YAML and
// .star: the allocations per request of everything on the client's side.
func BenchmarkGetStep(b *testing.B) { benchForms(b, stepUser) }

// benchForms runs one iteration per op of the user newUser makes, in
// YAML and in .star.
func benchForms(b *testing.B, newUser func(testing.TB, bool) *user) {
	for _, star := range []bool{false, true} {
		name := "yaml"
		if star {
			name = "star"
		}
		b.Run(name, func(b *testing.B) {
			u := newUser(b, star)
			b.ReportAllocs()
			for b.Loop() {
				u.iteration()
			}
		})
	}
}

// maxGetAllocs bounds the allocations of one plain GET step, by form.
// The .star flow's five are the interpreter's own (the flow's frame, the
// call's positional and keyword arguments) and the result; the YAML
// program's are the flow's frame (the flow makes the call of the node
// every iteration goes through), the call's keyword arguments and the
// result.
var maxGetAllocs = map[bool]float64{false: 4, true: 5}

// TestGetStepAllocs holds the plain GET step to its allocation bound.
// Allocation counts do not depend on the machine's load, timings do:
// speed is in BenchmarkGetStep, the bound here. The race detector
// allocates, and makes sync.Pool drop what it is given: make test runs
// this test a second time without it.
func TestGetStepAllocs(t *testing.T) {
	checkAllocs(t, stepUser, maxGetAllocs, "plain GET step", "GetStep")
}

// checkAllocs holds one iteration of each form of the user newUser
// makes to bound (what names the iteration, bench the benchmark that
// finds the allocations), its iterations all passing; it returns the
// users, YAML's first.
func checkAllocs(t *testing.T, newUser func(testing.TB, bool) *user, bound map[bool]float64, what, bench string) []*user {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (make test runs this without it)")
	}
	var users []*user
	for _, star := range []bool{false, true} {
		u := newUser(t, star)
		got := testing.AllocsPerRun(1000, func() { u.iteration() })
		t.Logf("star=%v: %.1f allocations per iteration", star, got)
		if got > bound[star] {
			t.Errorf("star=%v: %.1f allocations per %s, want at most %.0f (find them: go test -run '^$' -bench %s -memprofile m.prof -memprofilerate 1 ./engine/internal/runtime && go tool pprof -sample_index=alloc_objects -top m.prof)",
				star, got, what, bound[star], bench)
		}
		if f := u.r.col.Result("x").Iterations.Failed; f > 0 {
			t.Fatalf("star=%v: %d iterations failed", star, f)
		}
		users = append(users, u)
	}
	return users
}

// BenchmarkGetStepCores runs the one-GET workload with 50 users in
// parallel, each on its own goroutine as in a run, with GOMAXPROCS 1 and
// 2 (-cpu is ignored): req/s/core is the rate per core the process was
// given (wall clock: noisy on a shared machine); req/cpu-s is requests
// per second of CPU the process used (user + system, the in-process
// server's share included), which a busy machine disturbs far less.
// Run it with -mutexprofile and -blockprofile to see contention.
func BenchmarkGetStepCores(b *testing.B) {
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(procs))
			newUser := stepRun(b, true)
			users := make([]*user, 50)
			for i := range users {
				users[i] = newUser(i + 1)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			cpu0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for _, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						u.iteration()
					}
				}()
			}
			wg.Wait()
			wall := time.Since(start)
			b.StopTimer()
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(b.N)/wall.Seconds()/float64(procs), "req/s/core")
			if cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu.Seconds(), "req/cpu-s")
			}
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
