package transport

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Resolver resolves host names for a run (spec §4.1): its answers are
// cached run-wide for the record's TTL (or TTL when set), so that a name
// costs one query per TTL however many users and connections use it.
// Queries go to Servers (tried in order), from the asking user's source
// address; without servers the system's resolver answers.
type Resolver struct {
	// Servers are DNS servers as host:port; empty uses the system's.
	Servers []string
	// TTL, when set, replaces the records' own TTL.
	TTL time.Duration
	// Select says which address of an answer a connection uses: first,
	// random or round_robin.
	Select string
	// Timeout bounds one query (default 5s).
	Timeout time.Duration

	mu    sync.Mutex
	names map[string]*dnsEntry
	next  atomic.Uint64 // round_robin's turn
}

type dnsEntry struct {
	mu      sync.Mutex // one lookup of a name at a time: the others wait for its answer
	addrs   []netip.Addr
	expires time.Time
}

// systemTTL is how long an answer of the system's resolver is kept: it
// does not say the records' TTL.
const systemTTL = 30 * time.Second

// Lookup returns the address to connect to for host, from the cache
// when its answer is fresh. A failed lookup is a *net.DNSError (kind dns).
func (r *Resolver) Lookup(ctx context.Context, src netip.Addr, host string) (netip.Addr, error) {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	r.mu.Lock()
	if r.names == nil {
		r.names = map[string]*dnsEntry{}
	}
	e := r.names[name]
	if e == nil {
		e = &dnsEntry{}
		r.names[name] = e
	}
	r.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.addrs) == 0 || !time.Now().Before(e.expires) {
		addrs, ttl, err := r.query(ctx, src, name)
		if err != nil {
			return netip.Addr{}, err
		}
		if r.TTL > 0 {
			ttl = r.TTL
		}
		e.addrs, e.expires = addrs, time.Now().Add(ttl)
	}
	return r.pick(e.addrs), nil
}

func (r *Resolver) pick(addrs []netip.Addr) netip.Addr {
	switch r.Select {
	case "random":
		return addrs[rand.IntN(len(addrs))]
	case "round_robin":
		return addrs[int(r.next.Add(1)-1)%len(addrs)]
	}
	return addrs[0]
}

// query asks for name's A records, then its AAAA records if it has no
// A record.
func (r *Resolver) query(ctx context.Context, src netip.Addr, name string) ([]netip.Addr, time.Duration, error) {
	if len(r.Servers) == 0 {
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
		if err != nil {
			return nil, 0, err
		}
		for i := range addrs {
			addrs[i] = addrs[i].Unmap()
		}
		return addrs, systemTTL, nil
	}
	var lastErr error
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		addrs, ttl, err := r.ask(ctx, src, name, qtype)
		if err != nil {
			lastErr = err
			if dnsErr, ok := err.(*net.DNSError); ok && dnsErr.IsNotFound && qtype == dns.TypeA {
				return nil, 0, err // no such name: no AAAA either
			}
			continue
		}
		if len(addrs) > 0 {
			return addrs, ttl, nil
		}
	}
	if lastErr == nil {
		lastErr = &net.DNSError{Err: "no A or AAAA record", Name: name, IsNotFound: true}
	}
	return nil, 0, lastErr
}

// ask sends one query to the servers in order, from src, until one
// answers; a truncated answer is asked again over TCP.
func (r *Resolver) ask(ctx context.Context, src netip.Addr, name string, qtype uint16) ([]netip.Addr, time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var lastErr error
servers:
	for _, server := range r.Servers {
		for _, network := range []string{"udp", "tcp"} {
			d := &net.Dialer{Timeout: timeout, Control: bindControl}
			if src.IsValid() {
				if network == "udp" {
					d.LocalAddr = &net.UDPAddr{IP: src.AsSlice()}
				} else {
					d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
				}
			}
			c := &dns.Client{Net: network, Dialer: d, Timeout: timeout}
			in, _, err := c.ExchangeContext(ctx, m, server)
			if err != nil {
				lastErr = &net.DNSError{Err: err.Error(), Name: name, Server: server, IsTimeout: isTimeout(err)}
				continue servers
			}
			if in.Truncated && network == "udp" {
				continue // asked again over TCP
			}
			if in.Rcode == dns.RcodeNameError {
				return nil, 0, &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
			}
			if in.Rcode != dns.RcodeSuccess {
				lastErr = &net.DNSError{Err: "server answered " + dns.RcodeToString[in.Rcode], Name: name, Server: server}
				continue servers
			}
			var addrs []netip.Addr
			ttl := time.Duration(-1)
			for _, rr := range in.Answer {
				var ip net.IP
				switch a := rr.(type) {
				case *dns.A:
					ip = a.A
				case *dns.AAAA:
					ip = a.AAAA
				default:
					continue
				}
				if addr, ok := netip.AddrFromSlice(ip); ok {
					addrs = append(addrs, addr.Unmap())
					if t := time.Duration(rr.Header().Ttl) * time.Second; ttl < 0 || t < ttl {
						ttl = t
					}
				}
			}
			return addrs, max(ttl, 0), nil
		}
	}
	if lastErr == nil {
		lastErr = &net.DNSError{Err: "no answer", Name: name}
	}
	return nil, 0, lastErr
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// dialAddr returns the address to dial for host:port: a literal as it
// is, an entry of resolve, else what r answers. lookup is the time the
// lookup took (0 when none was made).
func dialAddr(ctx context.Context, r *Resolver, resolve map[string]string, src netip.Addr, host, port string) (addr string, lookup time.Duration, err error) {
	if _, err := netip.ParseAddr(host); err == nil || r == nil && len(resolve) == 0 {
		return net.JoinHostPort(host, port), 0, nil
	}
	if ip, ok := resolve[strings.ToLower(host)]; ok {
		return net.JoinHostPort(ip, port), 0, nil
	}
	if r == nil {
		return net.JoinHostPort(host, port), 0, nil
	}
	start := time.Now()
	a, err := r.Lookup(ctx, src, host)
	lookup = time.Since(start)
	if err != nil {
		return "", lookup, fmt.Errorf("resolving %s: %w", host, err)
	}
	return net.JoinHostPort(a.String(), port), lookup, nil
}
