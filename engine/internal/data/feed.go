package data

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"
	"sync/atomic"

	"go.starlark.net/starlark"
)

// Order says which row a user gets (spec §4.3).
type Order string

// The orders of a dataset.
const (
	// PerUser gives user N row (N-1) mod rows for its whole life.
	PerUser Order = "per_user"
	// Sequential gives each iteration the next row of one run-wide
	// cursor, wrapping around at the end.
	Sequential Order = "sequential"
	// Random gives each iteration a row drawn from the run's seed, the
	// user's id and the iteration's number: the same seed gives every
	// user the same rows, however the users are scheduled.
	Random Order = "random"
	// Unique gives each row out once in the whole run; OnExhausted says
	// what happens after the last one.
	Unique Order = "unique"
)

// OnExhausted says what a unique dataset does once every row has been
// handed out.
type OnExhausted string

// What a unique dataset does when it runs out of rows.
const (
	// StopUser ends the user that asked for a row; its iteration is not
	// counted, and other users go on until they too ask for one.
	StopUser OnExhausted = "stop_user"
	// FailIteration fails the iteration that asked, with reason
	// "data-exhausted"; the user goes on to its next iteration.
	FailIteration OnExhausted = "fail_iteration"
	// Recycle starts over from the first row.
	Recycle OnExhausted = "recycle"
)

// Source is one dataset of a scenario: a table and how its rows are
// handed out.
type Source struct {
	ID          string
	Order       Order
	OnExhausted OnExhausted
	Table       *Table
}

// ExhaustedError is what reading a row of a unique dataset raises once
// every row has been handed out, unless the dataset recycles.
type ExhaustedError struct {
	Dataset string
	Rows    int
	// StopUser is set when the user is to stop (on_exhausted: stop_user)
	// rather than fail the iteration.
	StopUser bool
}

func (e *ExhaustedError) Error() string {
	then := "this iteration fails (on_exhausted: fail_iteration)"
	if e.StopUser {
		then = "this user stops (on_exhausted: stop_user)"
	}
	return fmt.Sprintf("dataset %q has handed out all its %d rows (order: unique): %s", e.Dataset, e.Rows, then)
}

// EndsIteration says that the iteration cannot go on: a custom action
// whose function read the dataset passes the error on instead of
// failing as an action.
func (e *ExhaustedError) EndsIteration() bool { return true }

// Reason is the failure reason an iteration ended by e is counted under.
const Reason = "data-exhausted"

// Feeds hands out the rows of a scenario's datasets for one run. It is
// shared by every user of the run and safe for concurrent use: the
// run-wide cursors are atomic counters, so handing out a row takes no
// lock.
type Feeds struct {
	feeds []*feed
	index map[string]int
	names []string // sorted, for hints
	seed  uint64
}

type feed struct {
	Source
	salt      uint64        // makes the random rows of datasets independent
	next      atomic.Uint64 // the run-wide cursor of sequential and unique
	exhausted atomic.Int64  // draws that found no row left
}

// NewFeeds prepares the datasets for a run whose random choices follow
// seed. Each run needs its own Feeds: the cursors start at the first row.
func NewFeeds(sources []Source, seed uint64) *Feeds {
	f := &Feeds{index: map[string]int{}, seed: seed}
	for _, s := range sources {
		if s.Order == "" {
			s.Order = PerUser
		}
		if s.OnExhausted == "" {
			s.OnExhausted = StopUser
		}
		f.index[s.ID] = len(f.feeds)
		f.feeds = append(f.feeds, &feed{Source: s, salt: hashString(s.ID)})
		f.names = append(f.names, s.ID)
	}
	sort.Strings(f.names)
	return f
}

// Len is the number of datasets.
func (f *Feeds) Len() int { return len(f.feeds) }

// Warnings say which unique datasets ran out during the run, and what
// that did, so that a run that ended early says why.
func (f *Feeds) Warnings() []string {
	var out []string
	for _, fd := range f.feeds {
		n := fd.exhausted.Load()
		if n == 0 {
			continue
		}
		did := fmt.Sprintf("%d iterations failed (on_exhausted: fail_iteration)", n)
		if fd.OnExhausted == StopUser {
			did = fmt.Sprintf("%d users stopped (on_exhausted: stop_user)", n)
		}
		out = append(out, fmt.Sprintf("dataset %q handed out all its %d rows (order: unique); then %s", fd.ID, fd.Table.Len(), did))
	}
	return out
}

// View returns user's view of the datasets. user is the 1-based user id.
func (f *Feeds) View(user int) *View { return &View{f: f, user: user} }

// pick returns the row that user's iteration it gets from fd, or an
// *ExhaustedError.
func (f *Feeds) pick(fd *feed, user, it int) (*Row, error) {
	n := uint64(fd.Table.Len())
	switch fd.Order {
	case Sequential:
		return fd.Table.Row(int((fd.next.Add(1) - 1) % n)), nil
	case Random:
		h := mix(f.seed ^ fd.salt ^ mix(uint64(user)<<32|uint64(uint32(it))))
		hi, _ := bits.Mul64(h, n) // an unbiased enough index in [0, n)
		return fd.Table.Row(int(hi)), nil
	case Unique:
		i := fd.next.Add(1) - 1
		if i < n || fd.OnExhausted == Recycle {
			return fd.Table.Row(int(i % n)), nil
		}
		fd.exhausted.Add(1)
		return nil, &ExhaustedError{Dataset: fd.ID, Rows: int(n), StopUser: fd.OnExhausted == StopUser}
	}
	return fd.Table.Row(int(uint64(user-1) % n)), nil // per_user
}

// mix is SplitMix64's finaliser: a cheap hash that spreads every input
// bit over the output.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString is FNV-1a, for a dataset's salt.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix(h)
}

// View is one user's window on the datasets: data.ID is the row the user
// holds in its current iteration. A row is drawn when the iteration
// first reads the dataset and kept for the rest of the iteration, so
// that data.accounts.username and data.accounts.password come from the
// same row; an iteration that never reads a dataset takes none of its
// rows. A View belongs to one user's thread and is not safe for
// concurrent use.
type View struct {
	f    *Feeds
	user int
	it   int
	held []held // per dataset; made on the first draw
}

type held struct {
	it  int
	row *Row
}

var _ starlark.HasAttrs = (*View)(nil)

// Begin starts iteration it (1-based): rows drawn before are let go.
func (v *View) Begin(it int) { v.it = it }

// Row returns the row the user holds of dataset id in this iteration,
// drawing one if it holds none yet.
func (v *View) Row(id string) (*Row, error) {
	i, ok := v.f.index[id]
	if !ok {
		return nil, fmt.Errorf("no dataset %q%s", id, didYouMean(id, v.f.names))
	}
	fd := v.f.feeds[i]
	if fd.Order == PerUser {
		return v.f.pick(fd, v.user, v.it) // fixed for life: nothing to keep
	}
	if v.held == nil {
		v.held = make([]held, len(v.f.feeds))
	}
	h := &v.held[i]
	if h.row != nil && h.it == v.it {
		return h.row, nil
	}
	row, err := v.f.pick(fd, v.user, v.it)
	if err != nil {
		return nil, err
	}
	h.it, h.row = v.it, row
	return row, nil
}

// String lists the datasets.
func (v *View) String() string { return "<data: " + strings.Join(v.f.names, ", ") + ">" }

// Type is "data".
func (v *View) Type() string { return "data" }

// Freeze does nothing: a view has no state a script can change.
func (v *View) Freeze() {}

// Truth is true.
func (v *View) Truth() starlark.Bool { return true }

// Hash refuses.
func (v *View) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: data") }

// Attr returns this iteration's row of dataset name.
func (v *View) Attr(name string) (starlark.Value, error) {
	if _, ok := v.f.index[name]; !ok {
		// getAttr adds the "did you mean" hint from AttrNames.
		return nil, starlark.NoSuchAttrError(fmt.Sprintf("data has no dataset %q", name))
	}
	return v.Row(name)
}

// AttrNames lists the datasets.
func (v *View) AttrNames() []string { return v.f.names }

// viewKey is the thread-local key of the user's *View.
const viewKey = "ntx.data"

// Attach gives thread the view its references to `data` read.
func Attach(thread *starlark.Thread, v *View) { thread.SetLocal(viewKey, v) }

// Builtin is the predeclared `data`. Programs loaded with SourceProgram
// call it wherever they name `data`, and get the calling user's View.
var Builtin = starlark.NewBuiltin("data", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 || len(kwargs) > 0 {
		return nil, fmt.Errorf("data is not a function: read a row as data.DATASET.COLUMN")
	}
	if v, ok := thread.Local(viewKey).(*View); ok && v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("data: rows are handed to users; there is no user here (data can be read in flows and in what they call, not at load time or in setup)")
})
