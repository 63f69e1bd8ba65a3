package engine_test

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// peakMemory runs fn and returns the most memory the Go runtime held
// meanwhile (mapped and not given back to the system: what RSS follows),
// sampled every millisecond, and, when the kernel allows resetting it,
// the process's peak resident set (VmHWM) over fn. Neither is a timing.
func peakMemory(fn func()) (goPeak, vmHWM uint64) {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	var peak atomic.Uint64
	read := func() {
		metrics.Read(samples)
		if v := samples[0].Value.Uint64() - samples[1].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
		}
	}
	runtime.GC()
	// "5" resets the peak resident set size (Linux 4.0 and later).
	hwm := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			read()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	read()
	if hwm {
		vmHWM = statusKB("VmHWM") << 10
	}
	return peak.Load(), vmHWM
}

// statusKB reads a "Name: N kB" line of /proc/self/status.
func statusKB(name string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// TestEndlessAnswersKeepMemoryFlat: 4 users read endless answers (HTTP
// and HTTPS chunked bodies, TCP floods read by line, until and close).
// Each is cut at its read limit as too_large, bodies no script reads are
// counted and dropped, and memory stays under 100 MB.
func TestEndlessAnswersKeepMemoryFlat(t *testing.T) {
	srv := startTarget(t)
	file := writeFile(t, t.TempDir(), "endless.star", `
scenario = {
    "name": "endless",
    "load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 4}]},
             "user_lifetime": {"mode": "once"}},
}

def flow(user):
    plain = "http://" + env.NTX_TARGET_HTTP + "/endless"
    secure = "https://" + env.NTX_TARGET_HTTPS + "/endless"
    http.get(plain, name = "http", discard_body = True, timeout = "60s")
    http.get(secure, name = "https", discard_body = True, tls_verify = False, max_response = "8MiB", timeout = "60s")
    http.get(plain, name = "http kept", max_response = "4MiB", timeout = "60s")
    http.get(secure, name = "https kept", tls_verify = False, max_response = "4MiB", timeout = "60s")
    for read in ["line", "close", {"until": "END"}]:
        tcp.request(env.NTX_TARGET_TCP, send = "flood\n", read = read, max_response = "4MiB", name = "tcp %s" % read, timeout = "60s")
`)
	var res *engine.Result
	goPeak, hwm := peakMemory(func() { res = runFile(t, file, nil) })
	t.Logf("peak: Go runtime %d MB, VmHWM %d MB", goPeak>>20, hwm>>20)
	for _, name := range []string{"http", "https", "http kept", "https kept", "tcp line", "tcp close", `tcp {"until": "END"}`} {
		a := res.Actions[name]
		if a == nil || a.Count != 4 || a.Errors["too_large"] != 4 {
			t.Errorf("%s = %+v, want 4 requests failed as too_large", name, a)
		}
	}
	if a := res.Actions["http"]; a != nil && a.BytesReceived < 4*64<<20 {
		t.Errorf("http received %d bytes, want at least 4 x 64 MiB counted", a.BytesReceived)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Path == "/endless" }); n != 16 {
		t.Errorf("the target saw %d requests for /endless, want 16", n)
	}
	if n := count(srv, func(s target.Seen) bool { return s.Proto == "tcp" && s.Body == "flood\n" }); n != 12 {
		t.Errorf("the target saw %d floods asked for, want 12", n)
	}
	const limit = 100 << 20
	if goPeak > limit {
		t.Errorf("the Go runtime held %d MB at its peak, want under 100 MB", goPeak>>20)
	}
	if hwm > limit && !raceEnabled { // the race detector's shadow memory is not ntx's
		t.Errorf("peak RSS (VmHWM) %d MB, want under 100 MB", hwm>>20)
	}
}
