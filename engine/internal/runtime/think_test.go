package runtime

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestThinkHeapOrder: the think queue's heap gives its users back
// earliest first, whatever the order they came in.
func TestThinkHeapOrder(t *testing.T) {
	var sh thinkShard
	rng := rand.New(rand.NewPCG(1, 2))
	var want []int64
	for range 1000 {
		at := rng.Int64N(500) // ties included
		want = append(want, at)
		sh.push(thinker{at: at})
		if len(want)%7 == 0 { // pops between pushes too
			slices.Sort(want)
			if got := sh.pop().at; got != want[0] {
				t.Fatalf("popped %d, want %d", got, want[0])
			}
			want = want[1:]
		}
	}
	slices.Sort(want)
	for _, w := range want {
		if got := sh.pop().at; got != w {
			t.Fatalf("popped %d, want %d", got, w)
		}
	}
	if len(sh.heap) != 0 {
		t.Fatalf("%d left", len(sh.heap))
	}
}
