package runtime_test

import (
	"context"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/runtime"
)

// TestThinkTimesKept: users spread over the run's think queue each wait
// their think time between iterations, and wake for every one of them.
// 200 users, 4 iterations, 30-60ms between them: the run lasts 90ms
// at least, and all 800 iterations run.
func TestThinkTimesKept(t *testing.T) {
	p := load(t, `
scenario = {"load": {
    "ramp_up": {"phases": [{"spawn_users": 200}]},
    "user_lifetime": {"mode": "loop", "iterations": 4, "think_time": {"min": "30ms", "max": "60ms"}},
}}
def flow(user):
    pass
`)
	start := time.Now()
	res, err := p.Run(context.Background(), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Iterations.Total != 800 || res.Iterations.Failed != 0 {
		t.Fatalf("%d iterations, %d failed: want 800, none failed (%v)", res.Iterations.Total, res.Iterations.Failed, res.Errors)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("the run took %v: the users did not wait out three think times of 30ms at least", d)
	}
}
