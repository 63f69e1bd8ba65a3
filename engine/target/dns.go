package target

import (
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Zone is the DNS zone the target answers for.
const Zone = "ntx.test"

// DNS behaviour, by label: each label of a name under ntx.test that the
// target knows changes its answer, so that one name says what a test
// needs (ttl-5.v4.ntx.test: only an A record, with a TTL of 5 seconds).
const (
	defaultTTL   = 60
	maxDNSDelay  = 5 * time.Second
	bigAnswerLen = 300 // records in a "big" answer: more than 4096 bytes of A records
)

// startDNS answers the zone on cfg.DNS over UDP and TCP (the same port).
func (s *Server) startDNS() error {
	s.initDNS()
	ln, pc, err := listenSamePort(s.cfg.DNS, true)
	if err != nil {
		return fmt.Errorf("target: dns listener: %w", err)
	}
	h := dns.HandlerFunc(s.serveDNS)
	s.dnsTCP = &dns.Server{Listener: ln, Handler: h}
	s.dnsUDP = &dns.Server{PacketConn: pc, Handler: h}
	// Shutdown fails on a server that has not started, so wait for both.
	for _, srv := range []*dns.Server{s.dnsTCP, s.dnsUDP} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		failed := make(chan error, 1)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); failed <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-failed:
			return fmt.Errorf("target: dns server: %w", err)
		}
	}
	return nil
}

// startDoT answers the zone over TLS (DNS over TLS, RFC 7858) on cfg.DoT,
// with the HTTPS certificate.
func (s *Server) startDoT() error {
	s.initDNS()
	conf, err := s.serverTLS()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.DoT)
	if err != nil {
		return fmt.Errorf("target: dns over tls listener: %w", err)
	}
	conf = conf.Clone()
	conf.NextProtos = []string{"dot"}
	s.dotLn = ln
	s.dnsTLS = &dns.Server{Net: "tcp-tls", Listener: tls.NewListener(ln, conf), Handler: dns.HandlerFunc(s.serveDNS)}
	started := make(chan struct{})
	s.dnsTLS.NotifyStartedFunc = func() { close(started) }
	failed := make(chan error, 1)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); failed <- s.dnsTLS.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return fmt.Errorf("target: dns over tls server: %w", err)
	}
}

// DoTAddr returns the DNS over TLS address, or "" if off.
func (s *Server) DoTAddr() string { return addrOf(s.dotLn) }

// initDNS makes the channel that cuts delayed answers short at Close.
func (s *Server) initDNS() {
	if s.dnsDone == nil {
		s.dnsDone = make(chan struct{})
	}
}

// closeDNS stops the DNS servers, cutting short any delayed answer.
func (s *Server) closeDNS() {
	s.dnsClose.Do(func() {
		if s.dnsDone != nil {
			close(s.dnsDone)
		}
		for _, srv := range []*dns.Server{s.dnsTCP, s.dnsUDP, s.dnsTLS} {
			if srv != nil {
				_ = srv.Shutdown()
			}
		}
	})
}

// DNSAddr returns the DNS server's address (UDP and TCP), or "" if off.
func (s *Server) DNSAddr() string {
	if s.dnsUDP == nil {
		return ""
	}
	return s.dnsUDP.PacketConn.LocalAddr().String()
}

// DNSQueries counts the DNS queries received for name (case and a
// trailing dot do not matter) of type qtype ("A", "AAAA", ...; "" for
// any type), over UDP and TCP. It needs recording on.
func (s *Server) DNSQueries(name, qtype string) int {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	n := 0
	for _, v := range s.Seen() {
		if v.Proto == "dns" && v.Path == name && (qtype == "" || strings.EqualFold(v.Method, qtype)) {
			n++
		}
	}
	return n
}

// serveDNS answers one query and records it.
func (s *Server) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	network := w.LocalAddr().Network()
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	delay := s.answerDNS(m, name, q.Qtype)
	if network == "udp" {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
		if hasLabel(name, "tc") {
			m.Answer, m.Ns, m.Extra = nil, nil, nil
			m.Truncated = true
		} else {
			m.Truncate(size)
		}
	}
	addr := w.RemoteAddr().String()
	rec := Seen{Proto: "dns", Network: network, Method: dns.TypeToString[q.Qtype],
		Path: strings.TrimSuffix(name, "."), Source: hostOf(addr), Addr: addr,
		Body: dns.RcodeToString[m.Rcode], Truncated: m.Truncated}
	if st, ok := w.(dns.ConnectionStater); ok {
		if cs := st.ConnectionState(); cs != nil {
			addTLS(&rec, cs)
		}
	}
	s.record(rec)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.dnsDone:
			return
		}
	}
	_ = w.WriteMsg(m)
}

// answerDNS fills m with the answer for name and qtype and returns how
// long to wait before sending it. Help describes the zone: every name
// under ntx.test exists, and labels in it (ttl-N, v4, alias, tc, ...)
// change the answer. Names outside the zone (but loopback reverse
// names) are REFUSED.
func (s *Server) answerDNS(m *dns.Msg, name string, qtype uint16) time.Duration {
	if qtype == dns.TypePTR && (strings.HasSuffix(name, ".in-addr.arpa.") || strings.HasSuffix(name, ".ip6.arpa.")) {
		if target := reverseName(name); target != "" {
			m.Answer = append(m.Answer, &dns.PTR{Hdr: hdr(name, dns.TypePTR, defaultTTL), Ptr: target})
			return 0
		}
	}
	if !dns.IsSubDomain(Zone+".", name) {
		m.Authoritative = false
		m.Rcode = dns.RcodeRefused
		return 0
	}
	ttl := uint32(defaultTTL)
	var delay time.Duration
	for _, l := range labelsOf(name) {
		if v, ok := strings.CutPrefix(l, "ttl-"); ok {
			if n, err := strconv.ParseUint(v, 10, 31); err == nil {
				ttl = uint32(n)
			}
		}
		if v, ok := strings.CutPrefix(l, "delay-"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				delay = min(time.Duration(n)*time.Millisecond, maxDNSDelay)
			}
		}
	}
	switch {
	case hasLabel(name, "nxdomain"):
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, s.soa(ttl))
		return delay
	case hasLabel(name, "servfail"):
		m.Rcode = dns.RcodeServerFailure
		return delay
	case hasLabel(name, "refused"):
		m.Rcode = dns.RcodeRefused
		return delay
	}
	m.Answer = s.records(name, qtype, ttl, 0)
	if len(m.Answer) == 0 {
		m.Ns = append(m.Ns, s.soa(ttl)) // NODATA: the SOA gives the negative TTL
	}
	return delay
}

// records returns the answer records of name for qtype; depth bounds
// CNAME chains.
func (s *Server) records(name string, qtype uint16, ttl uint32, depth int) []dns.RR {
	if hasLabel(name, "alias") && depth == 0 {
		target := withoutLabel(name, "alias")
		if target == Zone+"." {
			target = "www." + target
		}
		out := []dns.RR{&dns.CNAME{Hdr: hdr(name, dns.TypeCNAME, ttl), Target: target}}
		if qtype == dns.TypeCNAME {
			return out
		}
		return append(out, s.records(target, qtype, ttl, depth+1)...)
	}
	if qtype == dns.TypeSRV {
		return s.srv(name, ttl)
	}
	n := 1
	if hasLabel(name, "big") {
		n = bigAnswerLen
	}
	apex := name == Zone+"."
	v4, v6 := !hasLabel(name, "v6"), !hasLabel(name, "v4")
	var ip4 net.IP
	if first := labelsOf(name); len(first) > 0 {
		if ip := net.ParseIP(strings.ReplaceAll(first[0], "-", ".")); ip != nil && ip.To4() != nil {
			ip4, v6 = ip.To4(), false
		}
	}
	var out []dns.RR
	for i := 0; i < n; i++ {
		if (qtype == dns.TypeA || qtype == dns.TypeANY) && v4 {
			ip := net.IPv4(127, 0, 0, 1)
			if ip4 != nil {
				ip = ip4
			} else if n > 1 {
				ip = net.IPv4(127, 0, byte(1+i/250), byte(1+i%250))
			}
			out = append(out, &dns.A{Hdr: hdr(name, dns.TypeA, ttl), A: ip})
		}
		if (qtype == dns.TypeAAAA || qtype == dns.TypeANY) && v6 {
			ip := net.IPv6loopback
			if n > 1 {
				ip = net.ParseIP(fmt.Sprintf("fd00::%x", i+1))
			}
			out = append(out, &dns.AAAA{Hdr: hdr(name, dns.TypeAAAA, ttl), AAAA: ip})
		}
		if qtype == dns.TypeTXT || qtype == dns.TypeANY {
			txt := []string{"name=" + strings.TrimSuffix(name, ".")}
			if n > 1 {
				txt = append(txt, fmt.Sprintf("part=%d", i+1))
			}
			out = append(out, &dns.TXT{Hdr: hdr(name, dns.TypeTXT, ttl), Txt: txt})
		}
	}
	if apex {
		switch qtype {
		case dns.TypeSOA:
			out = append(out, s.soa(ttl))
		case dns.TypeNS:
			out = append(out, &dns.NS{Hdr: hdr(name, dns.TypeNS, ttl), Ns: "ns." + Zone + "."})
		case dns.TypeMX:
			out = append(out, &dns.MX{Hdr: hdr(name, dns.TypeMX, ttl), Preference: 10, Mx: "mail." + Zone + "."})
		}
	}
	return out
}

// srv answers _SERVICE._PROTO names with the target's own ports.
func (s *Server) srv(name string, ttl uint32) []dns.RR {
	ls := labelsOf(name)
	if len(ls) < 2 {
		return nil
	}
	var addr string
	switch ls[0] + "." + ls[1] {
	case "_http._tcp":
		addr = s.HTTPAddr()
	case "_https._tcp":
		addr = s.HTTPSAddr()
	case "_https._udp":
		addr = s.HTTP3Addr()
	case "_dns._udp", "_dns._tcp":
		addr = s.DNSAddr()
	case "_echo._tcp":
		addr = s.TCPAddr()
	case "_echo._udp":
		addr = s.UDPAddr()
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	port, _ := strconv.Atoi(p)
	return []dns.RR{
		&dns.SRV{Hdr: hdr(name, dns.TypeSRV, ttl), Priority: 10, Weight: 5, Port: uint16(port), Target: "www." + Zone + "."},
		&dns.SRV{Hdr: hdr(name, dns.TypeSRV, ttl), Priority: 20, Weight: 5, Port: uint16(port), Target: "backup." + Zone + "."},
	}
}

func (s *Server) soa(ttl uint32) dns.RR {
	return &dns.SOA{Hdr: hdr(Zone+".", dns.TypeSOA, ttl), Ns: "ns." + Zone + ".", Mbox: "hostmaster." + Zone + ".",
		Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, Minttl: min(ttl, defaultTTL)}
}

func hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// labelsOf returns the labels of name below the zone, leftmost first
// (none for the apex).
func labelsOf(name string) []string {
	rel := strings.TrimSuffix(strings.TrimSuffix(name, "."), Zone)
	rel = strings.TrimSuffix(rel, ".")
	if rel == "" {
		return nil
	}
	return strings.Split(rel, ".")
}

func hasLabel(name, label string) bool {
	for _, l := range labelsOf(name) {
		if l == label {
			return true
		}
	}
	return false
}

// withoutLabel returns name with every label equal to label removed.
func withoutLabel(name, label string) string {
	var keep []string
	for _, l := range labelsOf(name) {
		if l != label {
			keep = append(keep, l)
		}
	}
	return strings.Join(append(keep, Zone+"."), ".")
}

// reverseName maps loopback reverse names to names in the zone, or "".
func reverseName(name string) string {
	if name == mustReverse("::1") {
		return "localhost." + Zone + "."
	}
	v4, ok := strings.CutSuffix(name, ".in-addr.arpa.")
	if !ok {
		return ""
	}
	parts := strings.Split(v4, ".")
	if len(parts) != 4 || parts[3] != "127" {
		return ""
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 255 {
			return ""
		}
	}
	if v4 == "1.0.0.127" {
		return "localhost." + Zone + "."
	}
	return fmt.Sprintf("127-%s-%s-%s.%s.", parts[2], parts[1], parts[0], Zone)
}

func mustReverse(ip string) string {
	r, err := dns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return r
}
