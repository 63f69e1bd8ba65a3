package runtime

import (
	"context"
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/target"
	"github.com/ntx-dev/ntx/engine/transport"
)

// heldBodyStar uploads 1 MiB and is sent the same 1 MiB back (the
// target's /asset echoes a POST body), keeping nothing of either: after
// the iteration the user is thinking and its script holds no value.
const heldBodyStar = `
def flow(user):
    r = http.post("http://%s/asset", body = "x" * 1048576, headers = {"Content-Type": "application/octet-stream"}, name = "up")
    if len(r.body) != 1048576:
        fail("echoed %%d bytes" %% len(r.body))
`

// TestThinkingUserHoldsNoBody: users that have each sent and been sent
// 1 MiB and are now between iterations must not keep those bodies (nor
// the request, headers or arguments of the call) alive: the heap with n
// such users stays far below n MiB. It once held the user's last request
// and response until its next call, n × 2 MiB during think time.
func TestThinkingUserHoldsNoBody(t *testing.T) {
	const n, mib = 24, 1 << 20
	cfg := target.EphemeralConfig()
	cfg.Record = false // the target's log of requests would keep the bodies
	tg, err := target.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	p, err := Load(filepath.Join(t.TempDir(), "held.star"), []byte(fmt.Sprintf(heldBodyStar, tg.HTTPAddr())), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := &run{p: p, s: p.Scenario, net: transport.New(transport.Options{}), http: httpConfig(p.Scenario)}
	t.Cleanup(r.net.Close)
	if err := r.setup(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r.col = metrics.New(metrics.Config{})
	r.interrupt, r.stopSpawning, r.hard, r.origin = ctx, ctx, ctx, time.Now()
	r.net.CloseWith(ctx)

	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	users := make([]*user, n)
	for i := range users {
		users[i] = r.newUser(r.newBinding(i+1, spawnPlan{}), 0, time.Time{}, ctx)
		users[i].step(t)
	}
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d thinking users after a 1 MiB upload and download: heap +%d KiB, %.1f KiB per user",
		n, held>>10, float64(held)/n/1024)
	if held > n*mib/4 {
		t.Errorf("%d thinking users keep %d KiB on the heap (%.0f KiB each): their last bodies are still referenced",
			n, held>>10, float64(held)/n/1024)
	}
	if res := r.col.Result("x"); res.Iterations.Failed > 0 {
		t.Fatalf("%d iterations failed: %v", res.Iterations.Failed, res.Errors)
	}
	goruntime.KeepAlive(users)
}
