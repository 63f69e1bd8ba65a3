package stdlib

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindControl sets IP_BIND_ADDRESS_NO_PORT before bind, so that a socket
// bound to a source address takes its port only at connect time. Without
// it every bound socket reserves an ephemeral port of its own, and a few
// thousand users sharing an address run out of ports early.
func bindControl(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if network == "tcp4" || network == "tcp6" || network == "tcp" {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}
