package transport

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

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

// TestIntactAsksTheKernelUnlessFresh: an idle connection whose server
// closed it is found closed, unless it carried a request on reuse and
// was put aside less than freshIdle ago: those are taken without a
// system call.
func TestIntactAsksTheKernelUnlessFresh(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	raw, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{Conn: nc, peeker: newPeeker(raw)}
	now := time.Now()
	c.idleSince = now
	if !c.intact(now) {
		t.Fatal("an open idle connection is not intact")
	}
	// The last exchange's deadline stays on an idle connection; passed,
	// it does not make the connection look broken.
	c.deadline = now.Add(-time.Second)
	_ = nc.SetDeadline(c.deadline)
	if !c.intact(now) || !c.deadline.IsZero() {
		t.Fatal("an open idle connection whose last deadline passed is not intact")
	}
	sc := <-accepted
	sc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for c.intact(now) { // the FIN is on its way
		if time.Now().After(deadline) {
			t.Fatal("a connection the server closed is still intact")
		}
		time.Sleep(time.Millisecond)
	}
	c.proven = true
	if !c.intact(now) {
		t.Error("a proven connection idle for less than freshIdle was checked")
	}
	if c.intact(now.Add(freshIdle)) {
		t.Error("a proven connection idle for freshIdle was not checked")
	}
}
