package stdlib

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

func dnsModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "dns", Members: starlark.StringDict{
		"query": starlark.NewBuiltin("dns.query", dnsQuery),
	}}
}

// dnsArgs are the keyword arguments of dns.query.
type dnsArgs struct {
	name, server, label     string
	typ, transport          starlark.Value
	tcpFallback             bool
	expect, tls             starlark.Value
	timeout, bindIP, export starlark.Value
}

var dnsArgFields = map[string]func(*dnsArgs) any{
	"name":         func(a *dnsArgs) any { return &a.name },
	"server":       func(a *dnsArgs) any { return &a.server },
	"type":         func(a *dnsArgs) any { return &a.typ },
	"transport":    func(a *dnsArgs) any { return &a.transport },
	"tcp_fallback": func(a *dnsArgs) any { return &a.tcpFallback },
	"expect":       func(a *dnsArgs) any { return &a.expect },
	"tls":          func(a *dnsArgs) any { return &a.tls },
	"timeout":      func(a *dnsArgs) any { return &a.timeout },
	"bind_ip":      func(a *dnsArgs) any { return &a.bindIP },
	"label":        func(a *dnsArgs) any { return &a.label },
	"export":       func(a *dnsArgs) any { return &a.export },
}

var dnsParams = bindParams("dns.query", dnsArgFields)

func init() { checkFieldsUsed(dnsArgFields, "dns.query") }

// dnsExpectation is what an answer must be: an rcode (given says
// whether the scenario named it) and a count of answer records.
type dnsExpectation struct {
	rcode      int
	rcodeGiven bool
	count      *countCond
}

// countCond is a count condition: "N", "== N", ">= N" ...
type countCond struct {
	op string
	n  int
}

// parseCount reads a count condition as the catalog's CountPattern
// describes it; a bare number means exactly that many.
func parseCount(s string) (*countCond, error) {
	m := countPattern.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("%q is not a count such as 2, \">= 1\" or \"== 0\"", s)
	}
	op := m[1]
	if op == "" {
		op = "=="
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), m[1])))
	if err != nil {
		return nil, fmt.Errorf("%q is not a count such as 2, \">= 1\" or \"== 0\"", s)
	}
	return &countCond{op: op, n: n}, nil
}

// countPattern is the catalog's CountPattern; its first group is the
// operator.
var countPattern = regexp.MustCompile(catalog.CountPattern)

func (c *countCond) holds(x int) bool {
	switch c.op {
	case "!=":
		return x != c.n
	case ">=":
		return x >= c.n
	case "<=":
		return x <= c.n
	case ">":
		return x > c.n
	case "<":
		return x < c.n
	}
	return x == c.n
}

func (c *countCond) String() string { return c.op + " " + strconv.Itoa(c.n) }

func parseDNSExpect(fn string, v starlark.Value) (dnsExpectation, error) {
	e := dnsExpectation{rcode: dns.RcodeSuccess}
	if v == nil || v == starlark.None {
		return e, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return e, fmt.Errorf("%s: expect must be a dict with rcode and answers, not %s", fn, v.Type())
	}
	for _, kv := range d.Items() {
		k, _ := starlark.AsString(kv[0])
		switch k {
		case "rcode":
			s, ok := starlark.AsString(kv[1])
			s = strings.ToUpper(s)
			code, known := dns.StringToRcode[s]
			if !ok || !known || !slices.Contains(catalog.DNSRcodes, s) { // the catalog's list, as YAML's validator
				return e, fmt.Errorf("%s: expect rcode %s is not one of %s", fn, formatValue(kv[1]), strings.Join(catalog.DNSRcodes, ", "))
			}
			e.rcode, e.rcodeGiven = code, true
		case "answers":
			var err error
			switch x := kv[1].(type) {
			case starlark.Int:
				n, ok := x.Int64()
				if !ok || n < 0 {
					return e, fmt.Errorf("%s: expect answers must not be negative", fn)
				}
				e.count = &countCond{op: "==", n: int(n)}
			case starlark.String:
				e.count, err = parseCount(string(x))
			default:
				err = fmt.Errorf("must be a number or a comparison such as \">= 1\", not %s", x.Type())
			}
			if err != nil {
				return e, fmt.Errorf("%s: expect answers: %v", fn, err)
			}
		default:
			return e, fmt.Errorf("%s: expect has unknown key %s (one of %s)", fn, formatValue(kv[0]), strings.Join(catalog.DNSExpect.Names(), ", "))
		}
	}
	return e, nil
}

// systemServer is the first nameserver of /etc/resolv.conf, the server
// of a query that names none.
var systemServer = sync.OnceValues(func() (string, error) {
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil {
		return "", fmt.Errorf("no server given and the system's cannot be read: %v", err)
	}
	if len(conf.Servers) == 0 {
		return "", fmt.Errorf("no server given and /etc/resolv.conf lists none")
	}
	return net.JoinHostPort(conf.Servers[0], conf.Port), nil
})

// dnsQuery is dns.query: one query from the user's address (spec §4.2).
func dnsQuery(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a dnsArgs
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, dnsParams.pairs(&a)...); err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	return doDNS(sess, b.Name(), &a)
}

func doDNS(sess *Session, fn string, a *dnsArgs) (starlark.Value, error) {
	qname := strings.TrimSpace(a.name)
	if qname == "" {
		return nil, fmt.Errorf("%s: name must not be empty", fn)
	}
	if _, ok := dns.IsDomainName(qname); !ok {
		return nil, fmt.Errorf("%s: name %q is not a domain name", fn, qname)
	}
	typName, err := optString(fn, "type", a.typ)
	if err != nil {
		return nil, err
	}
	if typName == "" {
		typName = "A"
	}
	typName = strings.ToUpper(typName)
	if !slices.Contains(catalog.DNSTypes, typName) {
		return nil, fmt.Errorf("%s: type %q is not one of %s", fn, typName, strings.Join(catalog.DNSTypes, ", "))
	}
	network, err := optString(fn, "transport", a.transport)
	if err != nil {
		return nil, err
	}
	switch {
	case network == "":
		network = catalog.DNSTransports[0]
	case !slices.Contains(catalog.DNSTransports, network):
		return nil, fmt.Errorf("%s: transport %q is not one of %s", fn, network, strings.Join(catalog.DNSTransports, ", "))
	}
	server := a.server
	if server == "" {
		if server, err = systemServer(); err != nil {
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return nil, fmt.Errorf("%s: server %q must be host:port", fn, server)
	}
	conf := sess.HTTP
	if conf == nil {
		conf = DefaultHTTP()
	}
	timeout, err := durationArg(fn, "timeout", a.timeout, catalog.DefaultTimeout)
	if err != nil {
		return nil, err
	}
	bind, err := bindArg(fn, a.bindIP)
	if err != nil {
		return nil, err
	}
	expect, err := parseDNSExpect(fn, a.expect)
	if err != nil {
		return nil, err
	}
	exports, err := parseExports(fn, a.export)
	if err != nil {
		return nil, err
	}
	own, err := tlsArg(fn, a.tls)
	if err != nil {
		return nil, err
	}
	settings := conf.TLS.Merge(own)
	var profile *transport.TLSProfile
	if network == "tls" {
		if profile, err = conf.profile(settings); err != nil {
			return nil, fmt.Errorf("%s: %v", fn, err)
		}
	}
	name := a.label
	if name == "" {
		name = "DNS " + typName + " " + strings.TrimSuffix(qname, ".")
	}
	res := &Result{Name: name, URL: "dns://" + server}
	src, release, ok, err := sess.acquire(res, "dns", bind)
	if !ok {
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	defer release()
	out := sess.source(src).DNS(sess.Ctx, &transport.DNSRequest{
		Server: server, Name: qname, Type: dns.StringToType[typName], Net: network, TCPFallback: a.tcpFallback,
		TLS: profile, Insecure: settings.Insecure(), Timeout: timeout, Start: sess.startClock(),
	})
	res.LatencyMS = float64(out.Latency) / float64(time.Millisecond)
	s := &metrics.Sample{Name: name, Kind: "dns", Source: src, Start: out.Start, Latency: out.Latency,
		BytesSent: out.Sent, BytesRecv: out.Received}
	if out.Msg != nil {
		res.dns = newDNSFields(out.Msg)
		res.Body, res.decoded = res.dns.encode()
	}
	switch {
	case out.Err != nil:
		s.ErrKind = sess.errKind(out.Err)
		res.Err = transport.Describe(out.Err, src)
	case out.Msg.Rcode != expect.rcode:
		s.ErrKind = metrics.KindDNS
		if expect.rcodeGiven {
			s.ErrKind = metrics.KindExpect
		}
		res.Err = fmt.Sprintf("%s answered %s for %s %s, want %s", server, dns.RcodeToString[out.Msg.Rcode], typName, qname, dns.RcodeToString[expect.rcode])
	case expect.count != nil && !expect.count.holds(len(out.Msg.Answer)):
		s.ErrKind = metrics.KindExpect
		res.Err = fmt.Sprintf("%d answer records for %s %s, want %s", len(out.Msg.Answer), typName, qname, expect.count)
		if out.Msg.Truncated {
			res.Err += " (the answer was truncated: tcp_fallback: true asks again over TCP)"
		}
	default:
		res.OK = true
	}
	if len(exports) > 0 {
		if msg := applyExports(sess, res, exports, res.parsed); msg != "" && res.OK {
			res.OK, res.Err, s.ErrKind = false, msg, metrics.KindAssert
		}
	}
	s.OK, s.Err = res.OK, res.Err
	sess.Sink.Record(s)
	return res, nil
}

// dnsAnswer are a DNS answer as a result shows it.
type dnsAnswer struct {
	rcode     string
	answers   []dnsRecord
	truncated bool
	list      *starlark.List // answers as Starlark values, made once
}

// dnsRecord is one answer record: {name, type, ttl, data}.
type dnsRecord struct {
	Name string `json:"name"`
	Type string `json:"type"`
	TTL  uint32 `json:"ttl"`
	Data string `json:"data"`
}

func newDNSFields(m *dns.Msg) *dnsAnswer {
	f := &dnsAnswer{rcode: dns.RcodeToString[m.Rcode], truncated: m.Truncated}
	if f.rcode == "" {
		f.rcode = strconv.Itoa(m.Rcode)
	}
	for _, rr := range m.Answer {
		h := rr.Header()
		f.answers = append(f.answers, dnsRecord{Name: strings.TrimSuffix(h.Name, "."), Type: dns.TypeToString[h.Rrtype], TTL: h.Ttl, Data: rrData(rr)})
	}
	return f
}

// rrData is a record's data as a script wants it: the address of A and
// AAAA, the target name of CNAME, NS and PTR, TXT's strings joined (as
// SPF and the like read them), else the zone-file text after the header.
func rrData(rr dns.RR) string {
	switch r := rr.(type) {
	case *dns.A:
		return r.A.String()
	case *dns.AAAA:
		return r.AAAA.String()
	case *dns.CNAME:
		return strings.TrimSuffix(r.Target, ".")
	case *dns.NS:
		return strings.TrimSuffix(r.Ns, ".")
	case *dns.PTR:
		return strings.TrimSuffix(r.Ptr, ".")
	case *dns.TXT:
		return strings.Join(r.Txt, "")
	}
	return strings.TrimSpace(strings.TrimPrefix(rr.String(), rr.Header().String()))
}

func (f *dnsAnswer) attr(name string) starlark.Value {
	switch name {
	case "rcode":
		return starlark.String(f.rcode)
	case "truncated":
		return starlark.Bool(f.truncated)
	}
	if f.list == nil {
		l := make([]starlark.Value, len(f.answers))
		for i, r := range f.answers {
			d := starlark.NewDict(4)
			_ = d.SetKey(starlark.String("name"), starlark.String(r.Name))
			_ = d.SetKey(starlark.String("type"), starlark.String(r.Type))
			_ = d.SetKey(starlark.String("ttl"), starlark.MakeInt64(int64(r.TTL)))
			_ = d.SetKey(starlark.String("data"), starlark.String(r.Data))
			l[i] = d
		}
		f.list = starlark.NewList(l)
	}
	return f.list
}

// encode returns the answer as a JSON body, {rcode, answers, truncated},
// and the same as a Starlark dict, which json() and content exports read.
func (f *dnsAnswer) encode() ([]byte, starlark.Value) {
	body, _ := json.Marshal(struct {
		Rcode     string      `json:"rcode"`
		Answers   []dnsRecord `json:"answers"`
		Truncated bool        `json:"truncated"`
	}{f.rcode, append([]dnsRecord{}, f.answers...), f.truncated})
	d := starlark.NewDict(3)
	_ = d.SetKey(starlark.String("rcode"), f.attr("rcode"))
	_ = d.SetKey(starlark.String("answers"), f.attr("answers"))
	_ = d.SetKey(starlark.String("truncated"), f.attr("truncated"))
	return body, d
}
