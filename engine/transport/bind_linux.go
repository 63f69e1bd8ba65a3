package transport

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

// idleIntact reports whether an idle connection can carry a request: the
// peer has neither closed it nor sent anything since the last response.
// It peeks without waiting, so a connection the server closed while idle
// is dropped before a request is written to it.
func idleIntact(rc syscall.RawConn) bool {
	var buf [1]byte
	intact := false
	err := rc.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		intact = err == unix.EAGAIN
		return true // never wait for readability
	})
	return err == nil && intact
}
