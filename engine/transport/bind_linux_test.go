package transport

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDialerBindsWithoutReservingAPort checks the socket option that lets
// thousands of users share a source address without exhausting ports.
func TestDialerBindsWithoutReservingAPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	src := netip.MustParseAddr("127.0.0.5")
	conn, err := Dialer(src).DialContext(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.LocalAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.5" {
		t.Errorf("connection sent from %s, want 127.0.0.5", got)
	}
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var opt int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		opt, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if opt != 1 {
		t.Errorf("IP_BIND_ADDRESS_NO_PORT = %d, want 1", opt)
	}
}
