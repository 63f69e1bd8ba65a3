package runtime

import (
	"os"
	"runtime/debug"
)

// manyUsers is the size of a run, in users planned at once, from which
// the collector keeps less headroom (manyUsersGOGC), and manyUsersGOGC
// that headroom.
//
// A user that thinks between iterations holds its state (a few hundred
// bytes to a couple of KiB: its session, cookies, its kept-alive
// connection) for the whole run, and makes garbage only while it
// iterates. With tens of thousands of users, that state is most of the
// live heap, and the collector's default headroom (GOGC=100: the heap
// may grow to twice what is live before a collection) doubles it: the
// process's peak memory is twice what its users hold. Halving the
// headroom makes collections twice as frequent for the same garbage;
// in such runs the garbage comes from far fewer requests a second than
// users (they mostly think), so the collector's CPU stays small, while
// the peak memory falls by a quarter. Runs of fewer users (such as 50
// users sending as fast as they can) are left as they are.
//
// GOGC or GOMEMLIMIT set in the environment are the user's choice and
// are kept.
const (
	manyUsers     = 5000
	manyUsersGOGC = 50
)

// tuneGC lowers the collector's headroom for a run of users planned at
// once (see manyUsers) and returns what restores it, or nil when the
// run is left to the collector's settings.
func tuneGC(users int) (restore func()) {
	if users < manyUsers || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	prev := debug.SetGCPercent(manyUsersGOGC)
	if prev < 0 || prev <= manyUsersGOGC { // off or already lower (set by the program): kept
		debug.SetGCPercent(prev)
		return nil
	}
	return func() { debug.SetGCPercent(prev) }
}
