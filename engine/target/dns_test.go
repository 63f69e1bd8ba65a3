package target

import (
	"crypto/tls"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// ask sends one query for name and qtype over network ("udp" or "tcp")
// from 127.0.0.2 and returns the answer and the client's local address.
func ask(t *testing.T, srv *Server, network, name string, qtype uint16, edns uint16) (*dns.Msg, string) {
	t.Helper()
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}
	if network == "tcp" {
		local = &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second, Dialer: &net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	conn, err := c.Dial(srv.DNSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, _, err := c.ExchangeWithConn(m, conn)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r, conn.LocalAddr().String()
}

// answers renders an answer section as "TYPE TTL DATA" lines.
func answers(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		h := rr.Header()
		data := strings.TrimPrefix(rr.String(), h.String())
		out = append(out, fmt.Sprintf("%s %d %s", dns.TypeToString[h.Rrtype], h.Ttl, data))
	}
	return out
}

func TestDNSZone(t *testing.T) {
	srv := start(t, nil)
	port := func(addr string) string { return portOf(t, addr) }
	cases := []struct {
		name  string
		qtype uint16
		rcode int
		want  []string
	}{
		{"www.ntx.test", dns.TypeA, dns.RcodeSuccess, []string{"A 60 127.0.0.1"}},
		{"WWW.ntx.test", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 60 ::1"}},
		{"www.ntx.test", dns.TypeTXT, dns.RcodeSuccess, []string{`TXT 60 "name=www.ntx.test"`}},
		{"ttl-5.ntx.test", dns.TypeA, dns.RcodeSuccess, []string{"A 5 127.0.0.1"}},
		{"v4.ntx.test", dns.TypeAAAA, dns.RcodeSuccess, nil},
		{"v6.ntx.test", dns.TypeAAAA, dns.RcodeSuccess, []string{"AAAA 60 ::1"}},
		{"v6.ntx.test", dns.TypeA, dns.RcodeSuccess, nil},
		{"127-0-0-9.ntx.test", dns.TypeA, dns.RcodeSuccess, []string{"A 60 127.0.0.9"}},
		{"127-0-0-9.ntx.test", dns.TypeAAAA, dns.RcodeSuccess, nil},
		{"alias.ntx.test", dns.TypeA, dns.RcodeSuccess, []string{"CNAME 60 www.ntx.test.", "A 60 127.0.0.1"}},
		{"alias.ttl-7.v6.ntx.test", dns.TypeAAAA, dns.RcodeSuccess, []string{"CNAME 7 ttl-7.v6.ntx.test.", "AAAA 7 ::1"}},
		{"alias.ntx.test", dns.TypeCNAME, dns.RcodeSuccess, []string{"CNAME 60 www.ntx.test."}},
		{"_http._tcp.ntx.test", dns.TypeSRV, dns.RcodeSuccess, []string{
			"SRV 60 10 5 " + port(srv.HTTPAddr()) + " www.ntx.test.", "SRV 60 20 5 " + port(srv.HTTPAddr()) + " backup.ntx.test."}},
		{"_https._udp.ntx.test", dns.TypeSRV, dns.RcodeSuccess, []string{
			"SRV 60 10 5 " + port(srv.HTTP3Addr()) + " www.ntx.test.", "SRV 60 20 5 " + port(srv.HTTP3Addr()) + " backup.ntx.test."}},
		{"_nothing._tcp.ntx.test", dns.TypeSRV, dns.RcodeSuccess, nil},
		{"ntx.test", dns.TypeMX, dns.RcodeSuccess, []string{"MX 60 10 mail.ntx.test."}},
		{"ntx.test", dns.TypeNS, dns.RcodeSuccess, []string{"NS 60 ns.ntx.test."}},
		{"nxdomain.ntx.test", dns.TypeA, dns.RcodeNameError, nil},
		{"servfail.ntx.test", dns.TypeA, dns.RcodeServerFailure, nil},
		{"example.com", dns.TypeA, dns.RcodeRefused, nil},
		{"1.0.0.127.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, []string{"PTR 60 localhost.ntx.test."}},
		{"4.3.2.127.in-addr.arpa", dns.TypePTR, dns.RcodeSuccess, []string{"PTR 60 127-2-3-4.ntx.test."}},
		{"1.0.0.10.in-addr.arpa", dns.TypePTR, dns.RcodeRefused, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, c := range cases {
			r, _ := ask(t, srv, network, c.name, c.qtype, 0)
			got := answers(r)
			if r.Rcode != c.rcode || strings.Join(got, "|") != strings.Join(c.want, "|") || r.Truncated {
				t.Errorf("%s %s over %s: %s %q (tc %v); want %s %q", c.name, dns.TypeToString[c.qtype], network,
					dns.RcodeToString[r.Rcode], got, r.Truncated, dns.RcodeToString[c.rcode], c.want)
			}
			// An empty answer in the zone carries the SOA, for its negative TTL.
			if len(got) == 0 && c.rcode != dns.RcodeRefused && c.rcode != dns.RcodeServerFailure &&
				(len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA) {
				t.Errorf("%s %s: no SOA with the empty answer: %v", c.name, dns.TypeToString[c.qtype], r.Ns)
			}
		}
	}
}

func TestDNSRecordsEveryQueryWithItsSource(t *testing.T) {
	srv := start(t, nil)
	var locals []string
	for i := 0; i < 3; i++ {
		_, local := ask(t, srv, "udp", "Count.ntx.test", dns.TypeA, 0)
		locals = append(locals, local)
	}
	_, local := ask(t, srv, "tcp", "count.ntx.test.", dns.TypeAAAA, 0)
	locals = append(locals, local)
	if n := srv.DNSQueries("count.ntx.test", "A"); n != 3 {
		t.Errorf("A queries for count.ntx.test: %d, want 3", n)
	}
	if n := srv.DNSQueries("COUNT.ntx.test.", ""); n != 4 {
		t.Errorf("queries of any type: %d, want 4", n)
	}
	if n := srv.DNSQueries("other.ntx.test", ""); n != 0 {
		t.Errorf("queries for a name never asked: %d", n)
	}
	seen := only(t, srv, "dns", 4)
	for i, v := range seen {
		wantNet, wantType := "udp", "A"
		if i == 3 {
			wantNet, wantType = "tcp", "AAAA"
		}
		if v.Network != wantNet || v.Method != wantType || v.Path != "count.ntx.test" || v.Addr != locals[i] ||
			v.Source != "127.0.0.2" || v.Body != "NOERROR" || v.Truncated {
			t.Errorf("query %d recorded as %+v; want %s %s from %s", i, v, wantType, wantNet, locals[i])
		}
	}
}

func TestDNSTruncation(t *testing.T) {
	srv := start(t, nil)
	// tc.*: truncated over UDP whatever the buffer, complete over TCP.
	r, _ := ask(t, srv, "udp", "tc.ntx.test", dns.TypeA, 4096)
	if !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("tc over udp: tc %v, %d answers", r.Truncated, len(r.Answer))
	}
	r, _ = ask(t, srv, "tcp", "tc.ntx.test", dns.TypeA, 0)
	if r.Truncated || strings.Join(answers(r), "|") != "A 60 127.0.0.1" {
		t.Errorf("tc over tcp: tc %v, %v", r.Truncated, answers(r))
	}
	// big.*: more than fits in 512 bytes, or in 4096 with EDNS.
	for _, size := range []uint16{0, 4096} {
		r, _ = ask(t, srv, "udp", "big.ntx.test", dns.TypeA, size)
		if !r.Truncated || len(r.Answer) >= bigAnswerLen {
			t.Errorf("big over udp (edns %d): tc %v, %d answers", size, r.Truncated, len(r.Answer))
		}
		if size > 0 && r.IsEdns0() == nil {
			t.Errorf("big over udp: no OPT in the answer to an EDNS query")
		}
	}
	r, _ = ask(t, srv, "tcp", "big.ntx.test", dns.TypeA, 0)
	if r.Truncated || len(r.Answer) != bigAnswerLen {
		t.Errorf("big over tcp: tc %v, %d answers", r.Truncated, len(r.Answer))
	}
	distinct := map[string]bool{}
	for _, a := range answers(r) {
		distinct[a] = true
	}
	if len(distinct) != bigAnswerLen {
		t.Errorf("big: %d distinct records of %d", len(distinct), bigAnswerLen)
	}
	var flags []string
	for _, v := range only(t, srv, "dns", 5) {
		flags = append(flags, v.Path+" "+v.Network+" "+map[bool]string{true: "tc", false: "full"}[v.Truncated])
	}
	sort.Strings(flags)
	want := []string{"big.ntx.test tcp full", "big.ntx.test udp tc", "big.ntx.test udp tc", "tc.ntx.test tcp full", "tc.ntx.test udp tc"}
	if strings.Join(flags, "|") != strings.Join(want, "|") {
		t.Errorf("recorded %q", flags)
	}
}

func TestDNSDelayAndClose(t *testing.T) {
	srv := start(t, nil)
	began := time.Now()
	ask(t, srv, "udp", "delay-150.ntx.test", dns.TypeA, 0)
	if waited := time.Since(began); waited < 150*time.Millisecond {
		t.Errorf("answered after %v, want at least 150ms", waited)
	}
	// Close does not wait out a delayed answer (5 s).
	other := start(t, nil)
	conn, err := net.Dial("udp", other.DNSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := new(dns.Msg)
	m.SetQuestion("delay-5000.ntx.test.", dns.TypeA)
	wire, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(wire); err != nil {
		t.Fatal(err)
	}
	waitSeen(t, other, func(v Seen) bool { return v.Path == "delay-5000.ntx.test" })
	closed := make(chan struct{})
	go func() { other.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(4 * time.Second):
		t.Fatal("Close waits for a delayed DNS answer")
	}
}

func TestDNSOverTLS(t *testing.T) {
	srv := start(t, nil)
	c := &dns.Client{Net: "tcp-tls", Timeout: 5 * time.Second,
		TLSConfig: &tls.Config{RootCAs: srv.CAPool(), ServerName: "ns.ntx.test"},
		Dialer:    &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}}
	m := new(dns.Msg)
	m.SetQuestion("www.ntx.test.", dns.TypeAAAA)
	conn, err := c.Dial(srv.DoTAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r, _, err := c.ExchangeWithConn(m, conn)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(answers(r), "|"); got != "AAAA 60 ::1" {
		t.Errorf("answer %q", got)
	}
	v := only(t, srv, "dns", 1)[0]
	if v.Network != "tcp" || v.SNI != "ns.ntx.test" || v.TLSVersion != "1.3" || v.ALPN != "" || v.Addr != conn.LocalAddr().String() {
		t.Errorf("recorded %+v", v)
	}
	if n := srv.DNSQueries("www.ntx.test", "AAAA"); n != 1 {
		t.Errorf("%d queries counted", n)
	}
}
