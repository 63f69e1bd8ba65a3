package runtime

import (
	"fmt"
	"math"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultMaxMemory bounds how much a run's heap may grow, unless
// Options.MaxMemory says otherwise.
const DefaultMaxMemory = 256 << 20

// memCheckInterval is how often the heap is sampled: reading two
// runtime/metrics samples costs about a microsecond, and a value that
// doubles at memory speed gains a few hundred MB in 10ms at most.
const memCheckInterval = 10 * time.Millisecond

// perUserMemory is how much the heap may grow for each live user on top
// of the limit.
const perUserMemory = 64 << 10

// memCancel is the reason a thread is cancelled with when the heap
// passes the limit; outcome recognizes it in the error.
const memCancel = "the run's heap passed --max-memory"

// memWatch stops Starlark memory bombs. Starlark has no allocation
// limit, and a few steps can allocate gigabytes (a string or list
// doubling in a loop, a join of large strings), which the step limit
// does not see. Go offers no per-goroutine allocation count, so the
// watch samples the process heap (runtime/metrics); when it has grown
// past the limit since the run began, it cancels every thread that is
// running an iteration at that moment. Cancellation is noticed at the
// next Starlark step, so each such iteration fails with an error at the
// line it had reached, and the values it built become garbage. The
// limit is on the run's heap, not on one iteration, plus perUserMemory
// for each live user (a thinking user costs 1-2 KiB, so ten thousand
// users fit in the allowance without touching the limit): a run whose
// users legitimately hold more (large bodies kept in results) needs a
// larger --max-memory, and the error says so.
type memWatch struct {
	limit uint64 // bytes the heap may grow by
	base  uint64 // the heap when the run began
	users func() int64
	set   *userSet // the run's users

	trips atomic.Int64  // times the limit was passed
	heap  atomic.Uint64 // how much the heap had grown at the last trip
}

var memSamples = []string{"/gc/heap/live:bytes", "/memory/classes/heap/objects:bytes", "/gc/cycles/total:gc-cycles"}

// readHeap returns the live heap as of the last garbage collection, the
// bytes of heap objects now, live or not yet swept, and the number of
// collections so far.
func readHeap() (live, objects, cycles uint64) {
	s := make([]metrics.Sample, len(memSamples))
	for i, name := range memSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
}

func newMemWatch(limit uint64, users func() int64, set *userSet) *memWatch {
	_, objects, _ := readHeap()
	return &memWatch{limit: limit, base: objects, users: users, set: set}
}

// run samples the heap until stop is closed. It never forces a
// collection: a forced one waits for a full cycle, and with a bomb's
// gigabytes of pointers to mark, the bomb gains more while the watch
// waits. Instead it trips on either measure past its own bound:
//
//   - the live heap of the last collection, past the limit: exact, but
//     only as fresh as that collection;
//   - the heap counting garbage not yet collected, past the limit times
//     the collector's growth factor (GOGC: by default the heap may
//     reach twice the live heap before a collection), which a
//     legitimate live heap under the limit does not reach.
//
// After a trip, what the stopped iterations built is garbage until the
// next collection; the watch waits for that collection before it trips
// again.
func (m *memWatch) run(stop <-chan struct{}) {
	t := time.NewTicker(memCheckInterval)
	defer t.Stop()
	// With collection off (GOGC=off) garbage is never collected, and
	// only the live measure can count.
	g := gogc()
	factor := uint64(100 + max(g, 0)) // in percent
	tripCycle := ^uint64(0)           // the collection count at the last trip
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		live, objects, cycles := readHeap()
		if cycles == tripCycle {
			continue
		}
		lim := m.limit + uint64(max(m.users(), 0))*perUserMemory
		grown, grownAll := live-min(live, m.base), objects-min(objects, m.base)
		if grown > lim || g >= 0 && grownAll*100 > factor*lim {
			m.trip(max(grown, grownAll*100/factor))
			tripCycle = cycles
		}
	}
}

// gogc is the collector's GOGC percentage: 100 unless set, negative
// when collection is off.
func gogc() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	return int64(s[0].Value.Uint64())
}

// trip cancels every thread running an iteration.
func (m *memWatch) trip(grown uint64) {
	m.trips.Add(1)
	m.heap.Store(grown)
	m.set.cancelRunning(memCancel)
}

// isMemCancel reports whether an evaluation error message is the watch's
// cancellation.
func isMemCancel(msg string) bool { return strings.HasSuffix(msg, memCancel) }

// ParseMemory reads a --max-memory size: a number of bytes with an
// optional unit (KiB, MiB, GiB, or KB, MB, GB in powers of ten). "0"
// means no limit, returned as -1 (Options.MaxMemory's "no limit").
func ParseMemory(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsNaN(v) || v*mult > 1<<50 {
		return 0, fmt.Errorf("%q is not a size such as 256MiB or 2GiB (0 for no limit)", s)
	}
	if v == 0 {
		return -1, nil
	}
	return max(int64(v*mult), 1), nil
}
