//go:build !unix

package transport

// FDLimit cannot be read here: 0 means unknown.
func FDLimit() uint64 { return 0 }

// FDsNeeded is how many file descriptors users concurrent users may hold.
func FDsNeeded(users int) uint64 { return uint64(max(users, 0)) + 64 }

// FDWarning has nothing to compare with where the limit is unknown.
func FDWarning(users int) string { return "" }
