//go:build unix

package transport

import (
	"fmt"
	"syscall"
)

// FDLimit returns the process's open-file limit (RLIMIT_NOFILE, soft),
// or 0 when it cannot be read. Go raises the soft limit to the hard one
// at start on Linux, so this is the most the process can open.
func FDLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// FDsNeeded is how many file descriptors a run of users concurrent users
// needs at least: one connection per user, in use or kept alive between
// requests, and a margin for the process itself (standard streams, the
// poller, listeners, output files). A user talking to several hosts holds
// more; idle connections beyond the limit are capped (Options.MaxIdle).
func FDsNeeded(users int) uint64 { return uint64(max(users, 0)) + 64 }

// FDWarning returns a warning for the start of a run when the open-file
// limit is below what users concurrent users need, or "" when it is not.
// Requests that run out of descriptors fail as fd_limit.
func FDWarning(users int) string {
	limit, need := FDLimit(), FDsNeeded(users)
	if limit == 0 || limit >= need {
		return ""
	}
	return fmt.Sprintf("the open-file limit (%d) is below what %d users may need (%d): requests may fail as fd_limit; raise it with `ulimit -n %d`", limit, users, need, need)
}
