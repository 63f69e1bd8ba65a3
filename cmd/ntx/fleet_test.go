package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/target"
)

// These tests run a fleet as a Kubernetes Indexed Job runs it: N
// processes of the real binary, each with JOB_COMPLETION_INDEX set and
// --segment /N, on loopback, against the built-in target.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// ntxBinary builds the ntx binary once for the package's tests.
func ntxBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ntx-fleet-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "ntx")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freeAddr is a loopback address with a port nothing listens on now,
// for a coordinator that several processes must be told about up front.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// segmentProc is one running segment.
type segmentProc struct {
	i      int
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr *lockedBuffer
	done   chan struct{}
	code   int
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSegment starts segment i of n as Kubernetes would: the index in
// JOB_COMPLETION_INDEX.
func startSegment(t *testing.T, i, n int, args ...string) *segmentProc {
	t.Helper()
	p := &segmentProc{i: i, stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(ntxBinary(t), append([]string{"exec", "--segment", fmt.Sprintf("/%d", n)}, args...)...)
	p.cmd.Env = append(os.Environ(), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i))
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the segment to exit, at most bound.
func (p *segmentProc) wait(t *testing.T, bound time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(bound):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("segment %d did not exit within %s\nstdout:\n%s\nstderr:\n%s", p.i, bound, p.stdout.String(), p.stderr.String())
		return -1
	}
}

// waitFor waits until the segment's stderr contains s.
func (p *segmentProc) waitFor(t *testing.T, s string, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("segment %d did not say %q within %s\n%s", p.i, s, bound, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fleetScenario: an open model at 400/s for 3 s (1,200 arrivals) from a
// /26 pool of 127.77.0.x addresses, shared by each segment's users.
const fleetScenario = `
version: "1.0"
name: fleet
workbook:
  ip_pools:
    - id: p
      ranges: ["127.77.0.0/26"]
load:
  arrival: {rate: %s, duration: %s, max_users: 10000}
  user_resources:
    ip_binding: {enabled: true, pool_id: p, strategy: shared}
actions:
  actions:
    - id: get
      call: get
      with: {url: "http://{{env.NTX_TARGET_HTTP}}/asset"}
workflows:
  nodes:
    - {id: start, type: action, action: get, edges: [{to: end}]}
    - {id: end, type: end}
thresholds:
%s
`

func writeFleetScenario(t *testing.T, rate, duration, thresholds string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(fleetScenario, rate, duration, thresholds)), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestFleetOfFourProcesses: 4 segments at 400/s in total from a /26
// pool. The target sees each source address from one segment only
// (each segment's slice), 1,200 requests in all (the planned count of
// 400/s over 3 s: within 1% of the rate, counted, not timed), and the
// merged result counts what the target saw. "get.count < 400" holds
// for each segment alone (300 calls) and fails for the fleet: exit 1
// from every process.
func TestFleetOfFourProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four processes for a few seconds")
	}
	srv := startTarget(t)
	dir := t.TempDir()
	file := writeFleetScenario(t, "400/s", "3s", `  - "get.count < 400"`)
	addr := freeAddr(t)
	out := filepath.Join(dir, "fleet.json")
	var procs []*segmentProc
	for i := 3; i >= 0; i-- { // any order: the coordinator may come last
		args := []string{"--coordinator", addr, "--join-timeout", "60s", file}
		if i == 0 {
			args = append([]string{"--out", out}, args...)
		}
		procs = append([]*segmentProc{startSegment(t, i, 4, args...)}, procs...)
	}
	for _, p := range procs {
		if code := p.wait(t, 90*time.Second); code != exitFailed {
			t.Errorf("segment %d: exit %d, want 1 (the fleet fails get.count < 400)\nstdout:\n%s\nstderr:\n%s", p.i, code, p.stdout.String(), p.stderr.String())
		}
	}
	// Each segment alone passed its threshold; the fleet did not.
	for _, p := range procs[1:] {
		if !strings.Contains(p.stdout.String(), "passed") || !strings.Contains(p.stdout.String(), "fleet: FAILED: threshold get.count < 400 (value 1200)") {
			t.Errorf("segment %d's output:\n%s", p.i, p.stdout.String())
		}
	}
	if s := procs[0].stdout.String(); !strings.Contains(s, "fleet: 4 of 4 segments merged") || !strings.Contains(s, "FAILED: threshold get.count < 400 (value 1200)") {
		t.Errorf("the coordinator's summary:\n%s", s)
	}
	seen := settled(srv)
	owner := map[string]int{}
	for _, s := range seen {
		a := net.ParseIP(s.Source).To4()
		if a == nil || a[0] != 127 || a[1] != 77 || a[2] != 0 || a[3] < 1 || a[3] > 62 {
			t.Fatalf("a request from %s, outside the pool", s.Source)
		}
		// Which segment's slice (of 62 addresses, contiguous) it is in.
		seg := -1
		for i := 0; i < 4; i++ {
			lo, hi := 62*i/4, 62*(i+1)/4
			if k := int(a[3]) - 1; k >= lo && k < hi {
				seg = i
			}
		}
		owner[s.Source] = seg
	}
	// Segments 1-3 print their own summaries, whose address tables (15
	// or 16 rows, all shown) say which addresses each sent from: every
	// one in its own slice, so no address was used by two segments.
	bySegment := map[string]int{}
	for _, p := range procs[1:] {
		for _, line := range strings.Split(p.stdout.String(), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 || !strings.HasPrefix(f[0], "127.77.0.") {
				continue
			}
			if prev, ok := bySegment[f[0]]; ok {
				t.Errorf("%s listed by segments %d and %d", f[0], prev, p.i)
			}
			bySegment[f[0]] = p.i
			if owner[f[0]] != p.i {
				t.Errorf("segment %d sent from %s, outside its slice", p.i, f[0])
			}
		}
	}
	if len(bySegment) != 47 {
		t.Errorf("segments 1-3 listed %d addresses, want their 47 (62 less segment 0's 15)", len(bySegment))
	}
	if len(owner) < 8 {
		t.Errorf("only %d source addresses seen", len(owner))
	}
	if n := len(seen); n < 1188 || n > 1212 {
		t.Errorf("the target saw %d requests, want 1,200 ± 1%% (400/s over 3 s)", n)
	}
	m, err := readResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Actions["get"].Count; got != int64(len(seen)) {
		t.Errorf("the merged result counts %d calls, the target saw %d", got, len(seen))
	}
	if m.Arrivals == nil || m.Arrivals.Planned != 1200 || m.Arrivals.Started+m.Arrivals.Dropped != 1200 {
		t.Errorf("merged arrivals %+v, want 1,200 planned", m.Arrivals)
	}
	// The coordinator's merge has the action's series and the start
	// lags over time, every call and arrival in them.
	var calls, arrivals int64
	for _, pt := range m.Series {
		calls += pt.Actions["get"].Requests
		arrivals += pt.Arrivals
	}
	if calls != m.Actions["get"].Count || arrivals != m.Arrivals.Started || m.StartLag == nil || len(m.HDR.ActionSeconds["get"]) != len(m.Series) {
		t.Errorf("the merged series counts %d calls and %d arrivals (the result %d and %d), start lag %v", calls, arrivals, m.Actions["get"].Count, m.Arrivals.Started, m.StartLag)
	}
	// The addresses each segment sent from, by the merged source_ips:
	// every one inside that segment's slice, so no two segments share one.
	for src := range m.SourceIPs {
		if _, ok := owner[src]; !ok {
			t.Errorf("the result names %s, which the target never saw", src)
		}
	}
	var reqs int64
	for _, s := range m.SourceIPs {
		reqs += s.Requests
	}
	if reqs != int64(len(seen)) {
		t.Errorf("source_ips add up to %d, the target saw %d", reqs, len(seen))
	}
}

// settled is what the target has seen once it has handled what was on
// its sockets.
func settled(srv *target.Server) []target.Seen {
	last := -1
	for i := 0; i < 100; i++ {
		n := len(srv.Seen())
		if n == last {
			break
		}
		last = n
		time.Sleep(10 * time.Millisecond)
	}
	return srv.Seen()
}

// TestFleetLosesAKilledSegment: a segment killed mid-run is named in the
// result, which is incomplete (exit 3); a segment that joins after the
// start (a re-created pod) is told the run is under way and exits 3
// without sending anything.
func TestFleetLosesAKilledSegment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four processes for a few seconds")
	}
	startTarget(t)
	dir := t.TempDir()
	file := writeFleetScenario(t, "40/s", "4s", `  - "get.error_rate < 1%"`)
	addr := freeAddr(t)
	out := filepath.Join(dir, "fleet.json")
	var procs []*segmentProc
	for i := 0; i < 4; i++ {
		args := []string{"--coordinator", addr, file}
		if i == 0 {
			args = append([]string{"--out", out}, args...)
		}
		procs = append(procs, startSegment(t, i, 4, args...))
	}
	procs[0].waitFor(t, "segments reporting", 60*time.Second)
	if err := procs[2].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	late := startSegment(t, 2, 4, "--coordinator", addr, file)
	if code := late.wait(t, 60*time.Second); code != exitDied || !strings.Contains(late.stderr.String(), "the run is under way") {
		t.Errorf("a segment joining after the start: exit %d, want 3\n%s", code, late.stderr.String())
	}
	if code := procs[0].wait(t, 60*time.Second); code != exitDied {
		t.Errorf("the coordinator: exit %d, want 3\n%s\n%s", code, procs[0].stdout.String(), procs[0].stderr.String())
	}
	if s := procs[0].stdout.String(); !strings.Contains(s, "incomplete: lost segment 2/4 (disconnected") || !strings.Contains(s, "fleet: 3 of 4 segments merged") {
		t.Errorf("the coordinator's summary:\n%s", s)
	}
	for _, i := range []int{1, 3} {
		if code := procs[i].wait(t, 30*time.Second); code != exitDied {
			t.Errorf("segment %d: exit %d, want 3 (the fleet is incomplete)\n%s", i, code, procs[i].stdout.String())
		}
	}
	m, err := readResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Incomplete || m.Fleet == nil || len(m.Fleet.Lost) != 1 || m.Fleet.Lost[0].Segment != "2/4" {
		t.Errorf("merged: incomplete %v, fleet %+v", m.Incomplete, m.Fleet)
	}
}

// TestFleetAbortOnFailStopsEverySegment: a failing abort_on_fail
// threshold, judged by the coordinator on the fleet's numbers, stops all
// four segments of a 60 s run. The bound is generous for a busy 2-core
// machine: every process exits within 10 s of the coordinator saying it
// stops the fleet (in practice well under 2 s: a snapshot's answer or
// the control stream carries the stop within a second).
func TestFleetAbortOnFailStopsEverySegment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four processes for a few seconds")
	}
	startTarget(t)
	file := writeFleetScenario(t, "40/s", "60s", `  - {expr: "get.error_rate < 10%", abort_on_fail: true, delay: 1s}`)
	src, _ := os.ReadFile(file)
	if err := os.WriteFile(file, bytes.Replace(src, []byte("/asset"), []byte("/status/500"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var procs []*segmentProc
	for i := 0; i < 4; i++ {
		procs = append(procs, startSegment(t, i, 4, "--coordinator", addr, file))
	}
	procs[0].waitFor(t, "fleet: stopping every segment", 60*time.Second)
	stopped := time.Now()
	for _, p := range procs {
		if code := p.wait(t, 10*time.Second-time.Since(stopped)); code != exitFailed {
			t.Errorf("segment %d: exit %d, want 1\n%s\n%s", p.i, code, p.stdout.String(), p.stderr.String())
		}
	}
	t.Logf("all four segments exited %s after the stop", time.Since(stopped).Round(time.Millisecond))
	if s := procs[0].stdout.String(); !strings.Contains(s, "abort_on_fail: threshold get.error_rate < 10% failed on the fleet") {
		t.Errorf("the coordinator's summary:\n%s", s)
	}
}

// TestOutOnAnotherSegmentIsSaid: in a coordinated fleet only segment 0
// writes --out and --report; another segment given them says so at
// start instead of silently writing nothing.
func TestOutOnAnotherSegmentIsSaid(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	file := writeFleetScenario(t, "10/s", "1s", `  - "get.count < 400"`)
	out, html := filepath.Join(dir, "part.json"), filepath.Join(dir, "part.html")
	code, _, stderr := ntx(t, "exec", "-q", "--segment", "1/2", "--coordinator", freeAddr(t), "--join-timeout", "1s", "--out", out, "--report", html, file)
	for _, want := range []string{
		"segment 1/2 sends its result to the coordinator; --out " + out + " is written by segment 0 only",
		"segment 1/2 sends its result to the coordinator; --report " + html + " is written by segment 0 only",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", code, want, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("segment 1 wrote %s", out)
	}
}
