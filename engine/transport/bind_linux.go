package transport

import (
	"syscall"
	"unsafe"

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

// peeker checks an idle connection without waiting: whether the peer
// has neither closed it nor sent anything since the last response. One
// is made per connection, so that the check allocates nothing.
type peeker struct {
	rc   syscall.RawConn
	ok   bool
	peek func(fd uintptr) bool
}

func newPeeker(rc syscall.RawConn) *peeker {
	p := &peeker{rc: rc}
	p.peek = func(fd uintptr) bool {
		var b [1]byte
		_, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		p.ok = errno == unix.EAGAIN
		return true // never wait for readability
	}
	return p
}

// intact reports whether the connection can carry a request. A
// connection the server closed while idle is found here, before a
// request is written to it.
func (p *peeker) intact() bool {
	p.ok = false
	return p.rc.Read(p.peek) == nil && p.ok
}
