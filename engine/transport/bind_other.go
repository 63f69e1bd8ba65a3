//go:build !linux

package transport

import "syscall"

// bindControl does nothing where IP_BIND_ADDRESS_NO_PORT does not exist.
func bindControl(network, address string, c syscall.RawConn) error { return nil }

// peeker cannot peek portably: a stale connection is found when the
// request fails, and an idempotent one is sent again.
type peeker struct{}

func newPeeker(rc syscall.RawConn) *peeker { return &peeker{} }

func (p *peeker) intact() bool { return true }
