package stdlib

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/transport"
)

// Result is what a measured call returns: an HTTP response, a TCP or UDP
// reply, or a custom action's outcome. Fields that do not apply are None.
type Result struct {
	Name      string
	StatusVal int // 0: no status (not HTTP, or no response)
	OK        bool
	// Headers are the response headers; when nil, rawHeader holds them
	// unparsed, and they are parsed the first time a script asks.
	Headers   http.Header
	rawHeader []byte
	Body      []byte
	LatencyMS float64
	SourceIP  string
	URL       string
	url       *url.URL // formatted into URL when a script asks
	Err       string
	Exports   map[string]starlark.Value
	notRun    bool
	redirects int    // redirect hops followed
	proto     string // the HTTP version spoken: HTTP/1.1, HTTP/2.0
	discarded bool   // the body was counted and dropped (discard_body)
	// dns is a DNS answer's fields (dns.query), nil for other calls.
	dns *dnsAnswer
	// messages are the WebSocket messages ws.request received.
	messages *starlark.List

	decoded starlark.Value // json() of Body, once decoded
	source  netip.Addr     // formatted into SourceIP when a script asks

	// buf holds a small answer's header block and body: a result is
	// made for every call, and its bytes come with it in one allocation.
	buf [resultBuf]byte
}

// resultBuf is the room in a Result for an answer's header block and
// kept body: enough for a small answer (a typical header block is 100
// to 300 bytes), and the Result a 640-byte size class.
const resultBuf = 640 - 240

var _ starlark.HasAttrs = (*Result)(nil)

// Result and Results implement starlark.Value; Result also
// starlark.HasAttrs, Results starlark.HasSetKey.

func (r *Result) String() string {
	switch {
	case r.notRun:
		return fmt.Sprintf("<result %s: not run>", r.Name)
	case r.StatusVal != 0:
		return fmt.Sprintf("<result %s: %d>", r.Name, r.StatusVal)
	case r.OK:
		return fmt.Sprintf("<result %s: ok>", r.Name)
	}
	return fmt.Sprintf("<result %s: %s>", r.Name, r.Err)
}

func (r *Result) Type() string          { return "result" }
func (r *Result) Freeze()               {}
func (r *Result) Truth() starlark.Bool  { return starlark.Bool(r.OK) }
func (r *Result) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: result") }

// Attr implements starlark.HasAttrs.
func (r *Result) Attr(name string) (starlark.Value, error) {
	if r.notRun {
		if name == "ok" {
			return starlark.False, nil
		}
		if name == "json" {
			return starlark.NewBuiltin("json", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				return starlark.None, nil
			}), nil
		}
		return starlark.None, nil
	}
	switch name {
	case "status_code":
		if r.StatusVal == 0 {
			return starlark.None, nil
		}
		return starlark.MakeInt(r.StatusVal), nil
	case "ok":
		return starlark.Bool(r.OK), nil
	case "headers":
		h := r.header()
		d := starlark.NewDict(len(h))
		for k, v := range h {
			_ = d.SetKey(starlark.String(strings.ToLower(k)), starlark.String(strings.Join(v, ", ")))
		}
		return d, nil
	case "body":
		if r.discarded {
			return starlark.None, nil
		}
		return starlark.String(r.Body), nil
	case "redirects":
		return starlark.MakeInt(r.redirects), nil
	case "proto":
		if r.proto == "" {
			return starlark.None, nil
		}
		return starlark.String(r.proto), nil
	case "json":
		return starlark.NewBuiltin("json", r.jsonMethod), nil
	case "latency_ms":
		return starlark.Float(r.LatencyMS), nil
	case "source_ip":
		if r.SourceIP == "" && r.source.IsValid() {
			r.SourceIP = r.source.String()
		}
		if r.SourceIP == "" {
			return starlark.None, nil
		}
		return starlark.String(r.SourceIP), nil
	case "url":
		if r.URL == "" && r.url != nil {
			r.URL = r.url.String()
		}
		if r.URL == "" {
			return starlark.None, nil
		}
		return starlark.String(r.URL), nil
	case "rcode", "answers", "truncated":
		if r.dns == nil {
			return starlark.None, nil
		}
		return r.dns.attr(name), nil
	case "messages":
		if r.messages == nil {
			return starlark.None, nil
		}
		return r.messages, nil
	case "error":
		if r.Err == "" {
			return starlark.None, nil
		}
		return starlark.String(r.Err), nil
	}
	if v, ok := r.Exports[name]; ok {
		return v, nil
	}
	return nil, nil // "result has no .name field"
}

// resultAttrNames are the attributes every result has (the catalog's).
var resultAttrNames = catalog.AttrNames(catalog.ResultAttrs)

// AttrNames implements starlark.HasAttrs.
func (r *Result) AttrNames() []string {
	return withExports(resultAttrNames, r.Exports)
}

// withExports returns the sorted names of fixed attributes and exports.
func withExports(fixed []string, exports map[string]starlark.Value) []string {
	names := slices.Clone(fixed)
	for k := range exports {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// header returns the response headers, parsing them on first use.
func (r *Result) header() http.Header {
	if r.Headers == nil && r.rawHeader != nil {
		r.Headers = transport.ParseHeader(r.rawHeader)
		r.rawHeader = nil
	}
	return r.Headers
}

// jsonMethod decodes the body as JSON; a body that is not JSON gives None.
func (r *Result) jsonMethod(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return r.parsed(), nil
}

// parsed returns the body decoded as JSON, or None, decoding it once.
func (r *Result) parsed() starlark.Value {
	if r.decoded == nil {
		r.decoded = starlark.None
		if v, ok := decodeJSON(r.Body); ok {
			r.decoded = v
		}
	}
	return r.decoded
}

// Results is the per-iteration mapping from action id to Result that the
// compiled program keeps in `r`. An action that has not run yet reads as
// a result whose ok is False and whose other fields are None.
type Results struct {
	m map[string]starlark.Value
}

var (
	_ starlark.HasSetKey = (*Results)(nil)
)

func (r *Results) String() string        { return fmt.Sprintf("<results of %d actions>", len(r.m)) }
func (r *Results) Type() string          { return "results" }
func (r *Results) Freeze()               {}
func (r *Results) Truth() starlark.Bool  { return len(r.m) > 0 }
func (r *Results) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: results") }

// Get implements starlark.Mapping.
func (r *Results) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("results: key must be an action id string, not %s", k.Type())
	}
	if v, ok := r.m[string(s)]; ok {
		return v, true, nil
	}
	return &Result{Name: string(s), notRun: true}, true, nil
}

// SetKey implements starlark.HasSetKey.
func (r *Results) SetKey(k, v starlark.Value) error {
	s, ok := k.(starlark.String)
	if !ok {
		return fmt.Errorf("results: key must be an action id string, not %s", k.Type())
	}
	r.m[string(s)] = v
	return nil
}

func newResults(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return &Results{m: map[string]starlark.Value{}}, nil
}
