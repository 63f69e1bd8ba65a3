//go:build !linux

package stdlib

import "syscall"

// bindControl does nothing where IP_BIND_ADDRESS_NO_PORT does not exist.
func bindControl(network, address string, c syscall.RawConn) error { return nil }
