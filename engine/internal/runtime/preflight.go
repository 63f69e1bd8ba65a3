package runtime

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// Preflight checks that the host can send from every given address, so
// that a pool naming a foreign address fails before the run with the fix
// spelled out, instead of as thousands of failed requests.
//
// Every address is checked, never a sample: on Linux arithmetically,
// against the kernel's local routes (an address is local when a route of
// type local covers it, as 127.0.0.0/8 does, or a prefix added with
// `ip addr add 10.1.0.0/16 dev lo`), which costs nothing per address; where
// the routes cannot be read, by binding each address in turn. The
// unspecified address and multicast addresses are refused outright: a
// socket bound to them does not send from one address of this host.
func Preflight(addrs []netip.Addr) error {
	for _, a := range addrs {
		if err := CheckSource(a); err != nil {
			return err
		}
	}
	local, err := localRoutes()
	var missing []netip.Addr
	if err == nil {
		missing = notCovered(addrs, local)
	} else {
		missing, err = notBindable(addrs)
		if err != nil {
			return err
		}
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

// CheckSource refuses addresses no socket can send from as one address of
// this host: the unspecified address (0.0.0.0, ::) means "any" and
// multicast addresses are destinations.
func CheckSource(a netip.Addr) error {
	switch {
	case a.IsUnspecified():
		return fmt.Errorf("source address %s is the unspecified address (any address), not one of this host", a)
	case a.Unmap().IsMulticast():
		return fmt.Errorf("source address %s is a multicast address, which cannot send", a)
	}
	return nil
}

// localSet is what the kernel accepts as a local source: its local routes,
// and all of IPv4 or IPv6 when net.ipv4/ipv6.ip_nonlocal_bind is set.
type localSet struct {
	prefixes         []netip.Prefix
	anyIPv4, anyIPv6 bool
}

func (l *localSet) covers(a netip.Addr) bool {
	a = a.Unmap()
	if (a.Is4() && l.anyIPv4) || (a.Is6() && l.anyIPv6) {
		return true
	}
	for _, p := range l.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// notCovered returns the addresses no local route covers. Pools are
// sorted, so the prefix that covered the last address is tried first.
func notCovered(addrs []netip.Addr, local *localSet) []netip.Addr {
	var missing []netip.Addr
	var last netip.Prefix
	for _, a := range addrs {
		if last.IsValid() && last.Contains(a.Unmap()) {
			continue
		}
		if !local.covers(a) {
			missing = append(missing, a)
			continue
		}
		last = netip.Prefix{}
		for _, p := range local.prefixes {
			if p.Contains(a.Unmap()) {
				last = p
				break
			}
		}
	}
	return missing
}

// notBindable binds every address in turn: the fallback where the local
// routes cannot be read.
func notBindable(addrs []netip.Addr) ([]netip.Addr, error) {
	var missing []netip.Addr
	for _, a := range addrs {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: a.AsSlice()})
		if err == nil {
			c.Close()
			continue
		}
		if !errors.Is(err, syscall.EADDRNOTAVAIL) {
			return nil, fmt.Errorf("cannot bind source address %s: %v", a, err)
		}
		missing = append(missing, a)
	}
	return missing, nil
}
