//go:build !linux

package transport

import "syscall"

// bindControl does nothing where IP_BIND_ADDRESS_NO_PORT does not exist.
func bindControl(network, address string, c syscall.RawConn) error { return nil }

// idleIntact cannot peek portably: a stale connection is found when the
// request fails, and an idempotent one is sent again.
func idleIntact(rc syscall.RawConn) bool { return true }
