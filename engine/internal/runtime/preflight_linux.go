package runtime

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"
)

// localRoutes reads the kernel's routes of type local (the `local` table
// of `ip route show table all`) over netlink.
func localRoutes() (*localSet, error) {
	l := &localSet{anyIPv4: sysctlOn("/proc/sys/net/ipv4/ip_nonlocal_bind"), anyIPv6: sysctlOn("/proc/sys/net/ipv6/ip_nonlocal_bind")}
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETROUTE, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	for i := range msgs {
		m := &msgs[i]
		// struct rtmsg: family, dst_len, src_len, tos, table, protocol,
		// scope, type (one byte each), then flags.
		if m.Header.Type != syscall.RTM_NEWROUTE || len(m.Data) < syscall.SizeofRtMsg || m.Data[7] != syscall.RTN_LOCAL {
			continue
		}
		bits := int(m.Data[1])
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			continue
		}
		for _, a := range attrs {
			if a.Attr.Type != syscall.RTA_DST {
				continue
			}
			if addr, ok := netip.AddrFromSlice(a.Value); ok {
				if p, err := addr.Prefix(bits); err == nil {
					l.prefixes = append(l.prefixes, p)
				}
			}
		}
	}
	if len(l.prefixes) == 0 {
		return nil, fmt.Errorf("no local routes found")
	}
	return l, nil
}

func sysctlOn(path string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.TrimSpace(string(b)) == "1"
}
