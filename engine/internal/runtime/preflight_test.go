package runtime

import (
	"net/netip"
	"strings"
	"testing"
)

// loopbackRun returns n consecutive addresses from 127.0.0.1.
func loopbackRun(n int) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	for a := netip.MustParseAddr("127.0.0.1"); len(out) < n; a = a.Next() {
		out = append(out, a)
	}
	return out
}

// TestPreflightChecksEveryAddress: a foreign address anywhere in a big
// pool, at an odd index too, is found; sampling would miss it.
func TestPreflightChecksEveryAddress(t *testing.T) {
	foreign := netip.MustParseAddr("198.51.100.77") // TEST-NET-2: on no host
	big := loopbackRun(1 << 18)
	if err := Preflight(big); err != nil {
		t.Fatalf("a pool of %d loopback addresses: %v", len(big), err)
	}
	for _, at := range []int{1, 12_345, len(big) - 1} {
		addrs := append([]netip.Addr{}, big...)
		addrs[at] = foreign
		err := Preflight(addrs)
		if err == nil || !strings.Contains(err.Error(), "198.51.100.77 is not on this host") {
			t.Errorf("foreign address at index %d: got %v", at, err)
		}
	}
}

func TestPreflightRefusesUnspecifiedAndMulticast(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "::", "224.0.0.1", "239.255.255.250", "ff02::1", "::ffff:224.0.0.9"} {
		addrs := append(loopbackRun(3), netip.MustParseAddr(s))
		err := Preflight(addrs)
		if err == nil || !strings.Contains(err.Error(), "source address "+netip.MustParseAddr(s).String()) {
			t.Errorf("%s: got %v", s, err)
		}
	}
}

// TestLocalRoutesAgreeWithBind checks the arithmetic against the kernel:
// an address is covered by a local route exactly when it can be bound.
func TestLocalRoutesAgreeWithBind(t *testing.T) {
	local, err := localRoutes()
	if err != nil {
		t.Skipf("local routes cannot be read here: %v", err)
	}
	var addrs []netip.Addr
	for _, s := range []string{"127.0.0.1", "127.0.0.2", "127.200.3.4", "127.255.255.254", "::1", "198.51.100.77", "203.0.113.9", "2001:db8::77"} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	byRoute := notCovered(addrs, local)
	byBind, err := notBindable(addrs)
	if err != nil {
		t.Fatal(err)
	}
	if len(byRoute) != len(byBind) {
		t.Fatalf("not local by route %v, by bind %v", byRoute, byBind)
	}
	for i := range byRoute {
		if byRoute[i] != byBind[i] {
			t.Fatalf("not local by route %v, by bind %v", byRoute, byBind)
		}
	}
	if len(byRoute) != 3 && !local.anyIPv4 && !local.anyIPv6 {
		t.Errorf("want the three documentation addresses reported, got %v", byRoute)
	}
}
