package engine

import (
	"github.com/ntx-dev/ntx/engine/internal/runtime"
	"github.com/ntx-dev/ntx/engine/internal/schedule"
)

// The packages that implement a run live under engine/internal, so that
// package engine is the one API importers depend on. The names below
// are the parts of them an importer (the CLI among them) needs to see;
// they are aliases, so values pass between engine and its internals
// without conversion.

// Progress is a snapshot of a running scenario, for live display: what
// Options.Progress is called with while the run goes on, and once more,
// with Final set, when it ends.
type Progress = runtime.Progress

// Segment is one of N parts of a scenario's plan (Options.Segment),
// for a fleet of processes that share a run: segment I of N (I from 0)
// runs its share of the users, arrivals, pool addresses and unique data
// rows, and the N segments together run exactly the whole plan. The
// zero Segment is the whole run.
type Segment = schedule.Segment

// ParseSegment reads a segment written "I/N" (I from 0, 0 ≤ I < N), as
// the CLI's --segment takes it.
func ParseSegment(s string) (Segment, error) { return schedule.ParseSegment(s) }

// ParseMemory reads a --max-memory size ("256MiB", "2GiB", "500MB", a
// number of bytes; "0" for no limit, returned as -1), for
// Options.MaxMemory.
func ParseMemory(s string) (int64, error) { return runtime.ParseMemory(s) }
