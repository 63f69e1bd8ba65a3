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
	"strings"
)

// MaxSize bounds how many addresses one pool may expand to, so that a
// typo such as fd00::/64 fails clearly instead of exhausting memory.
const MaxSize = 1 << 20

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
	drop := map[netip.Addr]bool{}
	for _, s := range exclude {
		if err := expand(s, func(a netip.Addr) error {
			if len(drop) >= MaxSize {
				return fmt.Errorf("exclusion has more than %d addresses", MaxSize)
			}
			drop[a] = true
			return nil
		}); err != nil {
			return nil, err
		}
	}
	kept := out[:0]
	for _, a := range out {
		if !drop[a] {
			kept = append(kept, a)
		}
	}
	sortAddrs(kept)
	return kept, nil
}

// CheckSpec reports whether s is a valid address spec, without expanding it.
func CheckSpec(s string) error {
	_, _, err := bounds(s)
	return err
}

func bounds(s string) (first, last netip.Addr, err error) {
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
		if first.Is4() && p.Bits() <= 30 {
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
	for a := first; ; a = a.Next() {
		if err := emit(a); err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		if a == last {
			return nil
		}
	}
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
	// Addresses arrive mostly sorted already (ranges ascend); an insertion
	// pass over near-sorted input is linear, and slices.SortFunc handles
	// the rest when specs come out of order.
	for i := 1; i < len(xs); i++ {
		if xs[i].Less(xs[i-1]) {
			sortSlice(xs)
			return
		}
	}
}
