package schedule

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

// TestMillionArrivalsLandExactly walks 1,000,000 arrivals at 10,000/s:
// arrival k is due at exactly k × 100µs, none missing, none extra.
func TestMillionArrivalsLandExactly(t *testing.T) {
	a, err := NewArrivals(10_000, 100*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 1_000_000 {
		t.Fatalf("planned %d arrivals, want 1,000,000", a.Len())
	}
	for k := 0; k < a.Len(); k++ {
		if got, want := a.At(k), time.Duration(k)*100*time.Microsecond; got != want {
			t.Fatalf("arrival %d at %v, want %v", k, got, want)
		}
	}
	if a.At(a.Len()) != 100*time.Second {
		t.Errorf("the first arrival after the plan is at %v, want the window's end", a.At(a.Len()))
	}
	// Due counts the arrivals at or before a moment.
	for _, c := range []struct {
		at   time.Duration
		want int
	}{
		{-1, 0}, {0, 1}, {99 * time.Microsecond, 1}, {100 * time.Microsecond, 2},
		{time.Second - 1, 10_000}, {time.Second, 10_001}, {99*time.Second + 999_900*time.Microsecond, 1_000_000},
		{time.Hour, 1_000_000},
	} {
		if got := a.Due(c.at); got != c.want {
			t.Errorf("Due(%v) = %d, want %d", c.at, got, c.want)
		}
	}
}

// TestArrivalCounts checks the planned count against the window for
// rates that do not divide a second evenly.
func TestArrivalCounts(t *testing.T) {
	for _, c := range []struct {
		rate   float64
		window time.Duration
		want   int
	}{
		{100, 2 * time.Second, 200},       // 0, 10ms, ..., 1990ms
		{2000, 10 * time.Second, 20_000},  // the rate of the lost-arrival report
		{3, time.Second, 3},               // 0, 333.3ms, 666.7ms
		{3, time.Second + 1, 4},           // and 1s itself
		{50, 400 * ms, 20},                // --rate 50 --duration 400ms
		{200.0 / 60, time.Minute, 200},    // 200/m
		{0.5, 3 * time.Second, 2},         // 0s and 2s
		{1e-9, time.Hour, 1},              // one arrival at 0
		{1e-12, time.Hour, 1},             // the next one beyond any duration
		{10, 0, 0},                        // no window, no arrivals
		{7, 10*time.Second + 1, 71},       // 70 fit in 10s, the 71st is at 10s
		{1e6, 10 * time.Second, MaxUsers}, // exactly the limit
	} {
		a, err := NewArrivals(c.rate, c.window)
		if err != nil {
			t.Errorf("rate %v over %v: %v", c.rate, c.window, err)
			continue
		}
		if a.Len() != c.want {
			t.Errorf("rate %v over %v: %d arrivals, want %d", c.rate, c.window, a.Len(), c.want)
		}
		for k := 0; k < min(a.Len(), 1000); k++ {
			if a.At(k) >= c.window || k > 0 && a.At(k) <= a.At(k-1) {
				t.Fatalf("rate %v: arrival %d at %v, outside the window or out of order", c.rate, k, a.At(k))
			}
		}
	}
	if _, err := NewArrivals(1e6, 10*time.Second+time.Microsecond); err == nil || !strings.Contains(err.Error(), "10000000") {
		t.Errorf("one arrival over the limit: err = %v", err)
	}
	for _, r := range []float64{0, -1} {
		if _, err := NewArrivals(r, time.Second); err == nil {
			t.Errorf("rate %v accepted", r)
		}
	}
}

// TestPhasesWithSpread is the schedule of TestPhasesStartOnTime, exact.
func TestPhasesWithSpread(t *testing.T) {
	c, err := NewClosed([]Phase{
		{At: 0, Users: 1},
		{At: 200 * ms, Users: 4, Spread: 400 * ms},
		{At: 750 * ms, Users: 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := walk(c)
	want := []Spawn{
		{1, 0, 0}, {2, 1, 200 * ms}, {3, 1, 300 * ms}, {4, 1, 400 * ms}, {5, 1, 500 * ms},
		{6, 2, 750 * ms}, {7, 2, 750 * ms}, {8, 2, 750 * ms}, {9, 2, 750 * ms},
	}
	if !slices.Equal(got, want) || c.Users() != 9 {
		t.Errorf("spawns = %v (%d users)\nwant     %v", got, c.Users(), want)
	}
}

// TestOverlappingPhasesInterleave checks that phases that overlap in
// time interleave by start time, with ties going to the earlier phase,
// as a stable sort of every start would order them.
func TestOverlappingPhasesInterleave(t *testing.T) {
	phases := []Phase{
		{At: 100 * ms, Users: 3, Spread: 300 * ms}, // 100, 200, 300
		{At: 0, Users: 4, Spread: 400 * ms},        // 0, 100, 200, 300
		{At: 1500 * ms, Users: 0},                  // nobody
		{At: 250 * ms, Users: 2},                   // 250, 250
	}
	c, err := NewClosed(phases)
	if err != nil {
		t.Fatal(err)
	}
	var at []time.Duration
	var ph []int
	for i, s := range walk(c) {
		if s.User != i+1 {
			t.Fatalf("spawn %d is user %d", i, s.User)
		}
		at = append(at, s.At/ms)
		ph = append(ph, s.Phase)
	}
	if want := []time.Duration{0, 100, 100, 200, 200, 250, 250, 300, 300}; !slices.Equal(at, want) {
		t.Errorf("starts (ms) = %v, want %v", at, want)
	}
	if want := []int{1, 0, 1, 0, 1, 3, 3, 0, 1}; !slices.Equal(ph, want) {
		t.Errorf("phases = %v, want %v", ph, want)
	}
}

// TestCursorMatchesSortedPlan compares the cursor with the plan built
// the obvious way (every start listed, then stably sorted) on random
// phases.
func TestCursorMatchesSortedPlan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var phases []Phase
		for range rng.IntN(6) + 1 {
			phases = append(phases, Phase{
				At:     time.Duration(rng.IntN(5)) * 100 * ms,
				Users:  rng.IntN(20),
				Spread: time.Duration(rng.IntN(3)) * time.Duration(rng.IntN(700)) * ms,
			})
		}
		var want []Spawn
		for pi, p := range phases {
			for i := 0; i < p.Users; i++ {
				want = append(want, Spawn{Phase: pi, At: p.At + time.Duration(int64(p.Spread)*int64(i)/int64(p.Users))})
			}
		}
		sort.SliceStable(want, func(i, j int) bool { return want[i].At < want[j].At })
		for i := range want {
			want[i].User = i + 1
		}
		c, err := NewClosed(phases)
		if err != nil {
			t.Fatal(err)
		}
		if got := walk(c); !slices.Equal(got, want) {
			t.Fatalf("phases %+v:\ncursor %v\nsorted %v", phases, got, want)
		}
	}
}

// TestFractionalAndLargeStarts checks starts that are not whole
// seconds, and a spread whose product with the user index overflows 64
// bits.
func TestFractionalAndLargeStarts(t *testing.T) {
	p := Phase{At: 570 * ms, Users: 3, Spread: 1 * time.Second}
	if got := []time.Duration{p.Start(0), p.Start(1), p.Start(2)}; !slices.Equal(got, []time.Duration{570 * ms, 570*ms + 333_333_333, 570*ms + 666_666_666}) {
		t.Errorf("starts = %v", got)
	}
	big := Phase{At: 0, Users: MaxUsers, Spread: 100 * time.Hour}
	if got, want := big.Start(MaxUsers-1), 100*time.Hour-36*ms; got != want {
		t.Errorf("last of ten million over 100h at %v, want %v", got, want)
	}
	if got, want := big.Start(MaxUsers/2), 50*time.Hour; got != want {
		t.Errorf("middle user at %v, want %v", got, want)
	}
}

// TestPlanIsLazy walks the first users of the largest plan allowed: the
// cursor's memory does not depend on the number of users.
func TestPlanIsLazy(t *testing.T) {
	c, err := NewClosed([]Phase{{Users: MaxUsers, Spread: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	cur := c.Cursor()
	allocs := testing.AllocsPerRun(1000, func() { cur.Next() })
	if allocs != 0 {
		t.Errorf("Next allocates %v times per user", allocs)
	}
	if _, err := NewClosed([]Phase{{Users: MaxUsers}, {Users: 1}}); err == nil || !strings.Contains(err.Error(), "phase 2") {
		t.Errorf("one user over the limit: err = %v", err)
	}
	if _, err := NewClosed([]Phase{{Users: 999_999_999}}); err == nil {
		t.Error("spawn_users: 999999999 accepted")
	}
}

func TestSpacing(t *testing.T) {
	// A 50/s spawn limit on arrivals at 100/s admits every other one.
	a, _ := NewArrivals(100, time.Second)
	s := NewSpacing(50)
	admitted := 0
	for k := 0; k < a.Len(); k++ {
		if s.Admit(a.At(k)) != (k%2 == 0) {
			t.Fatalf("arrival %d at %v: admitted %v", k, a.At(k), k%2 != 0)
		}
		if k%2 == 0 {
			admitted++
		}
	}
	if admitted != 50 {
		t.Errorf("admitted %d of 100", admitted)
	}

	// Reserving: four users due at once under 10/s start 100ms apart;
	// one due later than its turn starts when due.
	s = NewSpacing(10)
	var got []time.Duration
	for _, due := range []time.Duration{0, 0, 0, 0, 900 * ms, 920 * ms} {
		got = append(got, s.Reserve(due))
	}
	if want := []time.Duration{0, 100 * ms, 200 * ms, 300 * ms, 900 * ms, 1000 * ms}; !slices.Equal(got, want) {
		t.Errorf("reserved %v, want %v", got, want)
	}
	if NewSpacing(3).Interval() != 333_333_333 {
		t.Errorf("interval at 3/s = %v", NewSpacing(3).Interval())
	}
}

func walk(c *Closed) []Spawn {
	var out []Spawn
	cur := c.Cursor()
	for s, ok := cur.Next(); ok; s, ok = cur.Next() {
		out = append(out, s)
	}
	return out
}
