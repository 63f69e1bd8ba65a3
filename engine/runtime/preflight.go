package runtime

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// preflightMax bounds how many addresses of a pool are checked before a
// run; larger pools are sampled evenly.
const preflightMax = 1 << 16

// Preflight checks that the host can send from the given addresses, so
// that a pool naming a foreign address fails before the run with the fix
// spelled out, instead of as thousands of failed requests.
func Preflight(addrs []netip.Addr) error {
	step := 1
	if len(addrs) > preflightMax {
		step = len(addrs) / preflightMax
	}
	var missing []netip.Addr
	for i := 0; i < len(addrs); i += step {
		a := addrs[i]
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: a.AsSlice()})
		if err == nil {
			c.Close()
			continue
		}
		if !errors.Is(err, syscall.EADDRNOTAVAIL) {
			return fmt.Errorf("cannot bind source address %s: %v", a, err)
		}
		missing = append(missing, a)
	}
	if len(missing) == 0 {
		return nil
	}
	a := missing[0]
	bits := 32
	if a.Is6() {
		bits = 128
	}
	more := ""
	if len(missing) > 1 {
		more = fmt.Sprintf(" (and %d more addresses of the pool)", len(missing)-1)
	}
	return fmt.Errorf("source address %s is not on this host%s: add it with `ip addr add %s/%d dev lo`", a, more, a, bits)
}
