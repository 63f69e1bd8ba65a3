package stdlib

import (
	"fmt"
	"net"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/metrics"
	"github.com/ntx-dev/ntx/engine/transport"
)

// sockArgs are the keyword arguments of tcp.request and udp.request.
type sockArgs struct {
	address, send, name string
	read                starlark.Value // tcp: "line", "close", {"bytes": N}, {"until": S}
	reply               bool           // udp: wait for a reply
	expect, timeout     starlark.Value
	bindIP, export      starlark.Value
	maxResponse         starlark.Value
}

func tcpModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "tcp", Members: starlark.StringDict{
		"request": starlark.NewBuiltin("tcp.request", sockBuiltin("tcp", &tcpParams)),
	}}
}

func udpModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "udp", Members: starlark.StringDict{
		"request": starlark.NewBuiltin("udp.request", sockBuiltin("udp", &udpParams)),
	}}
}

// sockFields says where each keyword argument of tcp.request and
// udp.request is stored.
var sockFields = map[string]func(*sockArgs) any{
	"address":      func(a *sockArgs) any { return &a.address },
	"send":         func(a *sockArgs) any { return &a.send },
	"read":         func(a *sockArgs) any { return &a.read },
	"reply":        func(a *sockArgs) any { return &a.reply },
	"expect":       func(a *sockArgs) any { return &a.expect },
	"timeout":      func(a *sockArgs) any { return &a.timeout },
	"bind_ip":      func(a *sockArgs) any { return &a.bindIP },
	"name":         func(a *sockArgs) any { return &a.name },
	"export":       func(a *sockArgs) any { return &a.export },
	"max_response": func(a *sockArgs) any { return &a.maxResponse },
}

var (
	tcpParams = bindParams("tcp.request", sockFields)
	udpParams = bindParams("udp.request", sockFields)
)

func init() { checkFieldsUsed(sockFields, "tcp.request", "udp.request") }

func sockBuiltin(proto string, p *params[sockArgs]) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		a := sockArgs{reply: true}
		if err := p.unpack(b.Name(), args, kwargs, &a); err != nil {
			return nil, err
		}
		sess, err := session(thread, b.Name())
		if err != nil {
			return nil, err
		}
		return doSock(sess, b.Name(), proto, &a)
	}
}

// readMode is how a TCP request reads its reply.
type readMode struct {
	kind  transport.ReadKind
	n     int
	until string
}

func parseRead(fn string, v starlark.Value) (readMode, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return readMode{kind: transport.ReadLine}, nil
	case starlark.String:
		switch v {
		case "line":
			return readMode{kind: transport.ReadLine}, nil
		case "close":
			return readMode{kind: transport.ReadClose}, nil
		}
	case *starlark.Dict:
		if v.Len() == 1 {
			k, x := v.Items()[0][0], v.Items()[0][1]
			switch str(k) {
			case "bytes":
				var n int
				if err := starlark.AsInt(x, &n); err == nil && n > 0 {
					return readMode{kind: transport.ReadBytes, n: n}, nil
				}
			case "until":
				if s, ok := starlark.AsString(x); ok && s != "" {
					return readMode{kind: transport.ReadUntil, until: s}, nil
				}
			}
		}
	}
	return readMode{}, fmt.Errorf(`%s: read must be "line", "close", {"bytes": N} or {"until": STR}, not %s`, fn, formatValue(v))
}

func doSock(sess *Session, fn, proto string, a *sockArgs) (starlark.Value, error) {
	timeout, err := durationArg(fn, "timeout", a.timeout, catalog.DefaultTimeout)
	if err != nil {
		return nil, err
	}
	bind, err := bindArg(fn, a.bindIP)
	if err != nil {
		return nil, err
	}
	expect, err := optString(fn, "expect", a.expect)
	if err != nil {
		return nil, err
	}
	mode := readMode{}
	if proto == "tcp" {
		if mode, err = parseRead(fn, a.read); err != nil {
			return nil, err
		}
	}
	exports, err := parseExports(fn, a.export)
	if err != nil {
		return nil, err
	}
	maxResponse, err := sizeArg(fn, "max_response", a.maxResponse)
	if err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(a.address); err != nil {
		return nil, fmt.Errorf("%s: address %q must be host:port", fn, a.address)
	}
	name := a.name
	if name == "" {
		name = strings.ToUpper(proto) + " " + a.address
	}
	res := &Result{Name: name, URL: proto + "://" + a.address}
	src, release, ok, err := sess.acquire(res, proto, bind)
	if !ok {
		if err != nil {
			return nil, err
		}
		return res, nil
	}
	defer release()
	req := &transport.SocketRequest{Address: a.address, Send: []byte(a.send), Read: mode.kind, N: mode.n, Until: mode.until,
		Reply: a.reply, Timeout: timeout, Start: sess.startClock(), MaxResponse: maxResponse}
	var out *transport.SocketReply
	if proto == "tcp" {
		out = sess.source(src).TCP(sess.Ctx, req)
	} else {
		out = sess.source(src).UDP(sess.Ctx, req)
	}
	reply, err := out.Reply, out.Err
	res.LatencyMS = float64(out.Latency) / float64(time.Millisecond)
	res.Body = reply
	s := &metrics.Sample{Name: name, Kind: proto, Source: src, Start: out.Start, Latency: out.Latency,
		BytesSent: out.Sent, BytesRecv: out.Received}
	switch {
	case err != nil:
		s.ErrKind = sess.errKind(err)
		res.Err = transport.Describe(err, src)
	case expect != "" && !strings.Contains(string(reply), expect):
		s.ErrKind = metrics.KindExpect
		res.Err = fmt.Sprintf("reply %q does not contain %q", truncate(string(reply), 80), expect)
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
