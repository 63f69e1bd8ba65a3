package engine_test

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
)

// heapAllocs is how many bytes the process has allocated so far.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestStarDiscardsBodiesNothingReads: in a .star flow, an HTTP call that
// is a statement of its own has a response nothing can read, so its body
// is counted as it arrives and never held (discard_body is added), as a
// YAML scenario's unread bodies are; a response assigned to a name keeps
// its body. Measured by what the process allocates for 5 responses cut
// at 4 MiB each: held, 20 MiB and more; discarded, far less (counted,
// not timed).
func TestStarDiscardsBodiesNothingReads(t *testing.T) {
	startTarget(t)
	const flow = `
def flow(user):
    for i in range(5):
        %s
`
	call := `http.get("http://" + env.NTX_TARGET_HTTP + "/endless", max_response = "4MiB", name = "endless")`
	allocs := map[string]uint64{}
	for _, c := range []struct{ name, stmt string }{{"bare", call}, {"kept", "r = " + call}, {"export", call[:len(call)-1] + `, export = [{"name": "x", "type": "content", "path": "a"}])`}} {
		runtime.GC()
		before := heapAllocs()
		res := runFile(t, c.name+".star", []byte(fmt.Sprintf(flow, c.stmt)))
		allocs[c.name] = heapAllocs() - before
		a := res.Actions["endless"]
		if a == nil || a.Count != 5 || a.Errors["too_large"] != 5 || a.BytesReceived < 5*4<<20 {
			t.Fatalf("%s: %+v", c.name, a)
		}
	}
	t.Logf("allocated: bare %d KiB, assigned %d KiB, with an export %d KiB", allocs["bare"]>>10, allocs["kept"]>>10, allocs["export"]>>10)
	if allocs["kept"] < 20<<20 || allocs["bare"] > allocs["kept"]/4 {
		t.Errorf("a bare call allocated %d KiB, an assigned one %d KiB: the bare one's body was held", allocs["bare"]>>10, allocs["kept"]>>10)
	}
	if allocs["export"] < 20<<20 {
		t.Errorf("a call with an export allocated %d KiB: its body was not kept for the export to read", allocs["export"]>>10)
	}
}
