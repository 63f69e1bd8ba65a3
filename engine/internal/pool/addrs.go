// Package pool hands out source addresses to simulated users (spec §5).
//
// A pool is a fixed set of addresses parsed from CIDRs, ranges and single
// addresses, minus exclusions. Users take an address (Acquire) and give it
// back (Release); the allocation strategy picks which free address comes
// next. Next picks an address without holding it, for the shared binding.
package pool

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// MaxSize bounds how many addresses one pool may expand to, so that a
// typo such as fd00::/64 fails clearly instead of exhausting memory.
const MaxSize = 1 << 18

// ParseAddrs expands address specs (CIDR, "A-B" range or single address,
// IPv4 or IPv6) into a sorted, duplicate-free list, less exclude.
// For IPv4 CIDRs of /30 or wider the network and broadcast addresses are
// left out. Errors name the spec at fault.
func ParseAddrs(specs, exclude []string) ([]netip.Addr, error) {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, s := range specs {
		if err := expand(s, func(a netip.Addr) error {
			if !seen[a] {
				if len(out) >= MaxSize {
					return fmt.Errorf("pool has more than %d addresses", MaxSize)
				}
				seen[a] = true
				out = append(out, a)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	// Exclusions are filtered by span, never expanded, so that a broad
	// block may be excluded from a small pool. An excluded CIDR goes whole,
	// network and broadcast included.
	type block struct{ first, last netip.Addr }
	var drop []block
	for _, s := range exclude {
		first, last, err := spanOf(s, false)
		if err != nil {
			return nil, err
		}
		drop = append(drop, block{first, last})
	}
	kept := out[:0]
	for _, a := range out {
		excluded := false
		for _, b := range drop {
			if a.Compare(b.first) >= 0 && a.Compare(b.last) <= 0 {
				excluded = true
				break
			}
		}
		if !excluded {
			kept = append(kept, a)
		}
	}
	sortAddrs(kept)
	return kept, nil
}

// CheckSpec reports whether s is a valid spec of addresses to send from,
// without expanding it.
func CheckSpec(s string) error {
	_, _, err := bounds(s)
	return err
}

// CheckExclude reports whether s is a valid spec of addresses to leave
// out; it may span any addresses (0.0.0.0/0 included).
func CheckExclude(s string) error {
	_, _, err := spanOf(s, false)
	return err
}

// bounds is spanOf for addresses to send from: a spec that is or includes
// the unspecified address (0.0.0.0, ::) or a multicast address is refused,
// since a socket bound to one does not send from one address of a host.
func bounds(s string) (first, last netip.Addr, err error) {
	first, last, err = spanOf(s, true)
	if err != nil {
		return first, last, err
	}
	if first.IsUnspecified() {
		return first, last, fmt.Errorf("%q includes the unspecified address %s (any address), which is no source address", s, first)
	}
	mc := multicast4
	if first.Is6() {
		mc = multicast6
		if first.Is4In6() && last.Is4In6() {
			mc = netip.MustParsePrefix("::ffff:224.0.0.0/100")
		}
	}
	if lo, hi := mc.Masked().Addr(), lastAddr(mc); first.Compare(hi) <= 0 && last.Compare(lo) >= 0 {
		what := "is"
		if first != last {
			what = "includes"
		}
		return first, last, fmt.Errorf("%q %s a multicast address (%s), which cannot send", s, what, mc)
	}
	return first, last, nil
}

var (
	multicast4 = netip.MustParsePrefix("224.0.0.0/4")
	multicast6 = netip.MustParsePrefix("ff00::/8")
)

// SpecsContain reports whether a is one of the addresses the specs give
// less the excluded ones, worked out from the specs' bounds without
// expanding them.
func SpecsContain(specs, exclude []string, a netip.Addr) bool {
	in := func(s string, usable bool) bool {
		first, last, err := spanOf(s, usable)
		return err == nil && first.Is4() == a.Is4() && a.Compare(first) >= 0 && a.Compare(last) <= 0
	}
	for _, s := range exclude {
		if in(s, false) {
			return false
		}
	}
	for _, s := range specs {
		if in(s, true) {
			return true
		}
	}
	return false
}

// spanOf returns the first and last address of a spec; usable leaves out
// the network and broadcast addresses of IPv4 CIDRs of /30 and wider.
func spanOf(s string, usable bool) (first, last netip.Addr, err error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.Contains(s, "/"):
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return first, last, fmt.Errorf("%q is not a valid CIDR: %v", s, trimNetipErr(err))
		}
		p = p.Masked()
		first = p.Addr()
		last = lastAddr(p)
		if usable && first.Is4() && p.Bits() <= 30 {
			first, last = first.Next(), last.Prev()
		}
		return first, last, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		first, err = netip.ParseAddr(strings.TrimSpace(a))
		if err == nil {
			last, err = netip.ParseAddr(strings.TrimSpace(b))
		}
		if err != nil {
			return first, last, fmt.Errorf("%q is not a valid range (write it as 10.0.0.1-10.0.0.9): %v", s, trimNetipErr(err))
		}
		if first.Is4() != last.Is4() {
			return first, last, fmt.Errorf("range %q mixes IPv4 and IPv6", s)
		}
		if last.Less(first) {
			return first, last, fmt.Errorf("range %q ends before it starts", s)
		}
		return first, last, nil
	default:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return first, last, fmt.Errorf("%q is not a valid address, CIDR or range: %v", s, trimNetipErr(err))
		}
		return a, a, nil
	}
}

func trimNetipErr(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

func expand(s string, emit func(netip.Addr) error) error {
	first, last, err := bounds(s)
	if err != nil {
		return err
	}
	if span(first, last) > MaxSize {
		return fmt.Errorf("%q spans more than %d addresses", s, MaxSize)
	}
	for a := first; ; a = a.Next() {
		if err := emit(a); err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		if a == last {
			return nil
		}
	}
}

// span is the number of addresses from first to last, saturating at
// MaxSize+1 so that huge IPv6 ranges do not overflow.
func span(first, last netip.Addr) uint64 {
	a, b := first.As16(), last.As16()
	for i := 0; i < 8; i++ {
		if a[i] != b[i] {
			return MaxSize + 1
		}
	}
	var lo, hi uint64
	for i := 8; i < 16; i++ {
		lo, hi = lo<<8|uint64(a[i]), hi<<8|uint64(b[i])
	}
	if hi-lo >= MaxSize {
		return MaxSize + 1
	}
	return hi - lo + 1
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func sortAddrs(xs []netip.Addr) {
	slices.SortFunc(xs, func(a, b netip.Addr) int { return a.Compare(b) })
}
