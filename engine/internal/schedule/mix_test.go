package schedule

import (
	"math"
	"testing"
)

// TestMixSplitsByWeight: over many users the draw follows the weights,
// and the same seed and id always draw the same flow.
func TestMixSplitsByWeight(t *testing.T) {
	m := NewMix([]float64{80, 20})
	for _, seed := range []uint64{1, 2, 42} {
		counts := [2]int{}
		const n = 100_000
		for id := 1; id <= n; id++ {
			counts[m.Pick(seed, id)]++
		}
		if share := float64(counts[0]) / n; math.Abs(share-0.8) > 0.01 {
			t.Errorf("seed %d: flow 0 got %.3f of the users, want 0.80±0.01", seed, share)
		}
		for id := 1; id <= 1000; id++ {
			if a, b := m.Pick(seed, id), m.Pick(seed, id); a != b {
				t.Fatalf("seed %d user %d: drew %d then %d", seed, id, a, b)
			}
		}
	}
	// Another seed gives another assignment (not the same users).
	diff := 0
	for id := 1; id <= 1000; id++ {
		if m.Pick(1, id) != m.Pick(2, id) {
			diff++
		}
	}
	if diff < 100 {
		t.Errorf("seeds 1 and 2 differ for %d of 1000 users: the seed does not reach the draw", diff)
	}
}

// TestMixThreeWays checks uneven, fractional weights and a single flow.
func TestMixThreeWays(t *testing.T) {
	m := NewMix([]float64{0.5, 1.5, 2})
	counts := [3]int{}
	const n = 200_000
	for id := 1; id <= n; id++ {
		counts[m.Pick(7, id)]++
	}
	for i, want := range []float64{0.125, 0.375, 0.5} {
		if got := float64(counts[i]) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("flow %d: share %.3f, want %.3f", i, got, want)
		}
		if m.Share(i) != want {
			t.Errorf("Share(%d) = %v, want %v", i, m.Share(i), want)
		}
	}
	one := NewMix([]float64{3})
	for id := 1; id < 100; id++ {
		if one.Pick(9, id) != 0 {
			t.Fatal("a mix of one flow drew another")
		}
	}
}
