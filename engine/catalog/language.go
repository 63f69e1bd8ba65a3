package catalog

import (
	"strings"
	"time"
)

// DefaultTimeout bounds a network call that names no timeout.
const DefaultTimeout = 10 * time.Second

// Building blocks for the tables below. Every value under with: may be a
// {{ }} template instead, evaluated when the action runs.
var (
	vString   = Value{Type: String, Template: true}
	vURL      = Value{Type: URL, Template: true}
	vAddress  = Value{Type: Address, Template: true}
	vIP       = Value{Type: IP, Template: true}
	vDuration = Value{Type: Duration, Template: true}
	vBool     = Value{Type: Bool, Template: true}
	vMap      = Value{Type: Map, Template: true}
	vAny      = Value{Type: Any, Template: true}
	vStatus   = Value{Type: Int, Min: 100, HasMin: true, Template: true}
)

// Patterns of names.
const (
	// IdentifierPattern is a name that becomes a Starlark identifier or
	// attribute: a module name, an export name.
	IdentifierPattern = `^[A-Za-z_][A-Za-z0-9_]*$`
	// IDPattern is an id of a pool, resource, tenant, action, task or
	// node: '-' and '.' are allowed too.
	IDPattern = `^[A-Za-z_][A-Za-z0-9_.\-]*$`
	// CustomCallPattern is a custom action's call: MODULE.FUNCTION.
	CustomCallPattern = `^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`
)

// Export is an entry of an action's export: list (a YAML action's key,
// and the export= argument of the Starlark calls).
var Export = &Obj{
	Name: "an export",
	Doc:  "takes a value out of the action's result and names it, readable as ACTION.NAME in later templates",
	Keys: []Key{
		{Name: "type", Value: Value{Type: Enum, Values: []string{"content", "header", "status", "assert", "variable"}}, Default: "content",
			Doc: "content: the value at path in the JSON body; header: the response header path; status: the status code; assert: the value at path must equal default (or equals), else the action fails; variable: the rendered default"},
		{Name: "name", Value: Value{Type: String, Pattern: IdentifierPattern, Hint: "an identifier (letters, digits, _)"}, Required: true,
			Doc: "the name the value is stored under"},
		{Name: "path", Value: Value{Type: String}, Default: "the name",
			Doc: "a dotted path into the JSON body (list indexes allowed: items.0.id), or the header's name"},
		{Name: "scope", Value: Value{Type: Enum, Values: []string{"action", "user", "workbook"}}, Default: "action",
			Doc: "action: ACTION.NAME for the rest of the iteration; user: also user.NAME, kept across the user's iterations; workbook: also vars.NAME, shared by every user (the last write wins)"},
		{Name: "default", Value: vAny,
			Doc: "the value when the path is missing or the body is not JSON; for assert, the expected value; for variable, the value stored"},
		{Name: "equals", Value: vAny,
			Doc: "the expected value of an assert (the same as default; give one of them)"},
	},
}

// Keys shared by the network calls.
var (
	keyTimeout = Key{Name: "timeout", Value: vDuration, Default: DefaultTimeout.String(),
		Doc: "how long the whole call may take, connecting included, before it fails with error kind timeout"}
	keyBindIP = Key{Name: "bind_ip", Value: vIP,
		Doc: "the source address for this call, instead of the one the user holds from its pool"}
	keyName = Key{Name: "name", Value: vString,
		Doc: "the name the call is measured under (default: the action id in YAML; in Starlark, METHOD /path or PROTO host:port)"}
	keyExport = Key{Name: "export", Value: Value{Type: List, Elem: &Value{Type: Object, Obj: Export}}, StarlarkOnly: true,
		Doc: "values to take out of the result and name (see Exports)"}
	keyMaxResponse = Key{Name: "max_response", Value: Value{Template: true, OneOf: []Value{
		{Type: Int, Min: 1, HasMin: true, Template: true},
		{Type: String, Pattern: SizePattern, Hint: "a size such as 65536, 512KiB or 64MiB", Template: true},
	}}, Default: "64MiB",
		Doc: "the most an answer may bring in (a response body, a TCP or UDP reply), in bytes or as 512KiB, 64MiB; it is enforced while reading, and crossing it fails the call with error kind too_large"}
)

// httpKeys returns the keys of an HTTP call; method only for
// http.request, whose method is not fixed.
func httpKeys(withMethod bool) []Key {
	keys := []Key{{Name: "url", Value: vURL, Required: true,
		Doc: "the absolute http:// or https:// URL to request"}}
	if withMethod {
		keys = append(keys, Key{Name: "method", Value: Value{Type: String, Pattern: `^[A-Za-z]+$`, Hint: "an HTTP method such as GET", Template: true},
			Default: "GET", Doc: "the request method, in any case"})
	}
	return append(keys,
		Key{Name: "headers", Value: vMap, Doc: "request headers; a Host header sets the Host the server sees"},
		Key{Name: "query", Value: vMap, Doc: "query parameters added to the URL; a list value repeats the parameter"},
		Key{Name: "body", Value: vAny, Doc: "the request body: a string is sent as it is, a map or a list as JSON"},
		Key{Name: "json", Value: vAny, Doc: "a value sent as JSON, with Content-Type: application/json"},
		Key{Name: "form", Value: vMap, Doc: "fields sent as an application/x-www-form-urlencoded body (give one of body, json and form)"},
		keyTimeout,
		keyBindIP,
		Key{Name: "retries", Value: Value{Type: Int, Min: 0, HasMin: true, Template: true}, Default: "0",
			Doc: "how many times to try again after a connection error, a 429 or a 5xx (but 501); each attempt is measured on its own"},
		Key{Name: "tls_verify", Value: vBool, Default: "true",
			Doc: "whether an https:// server's certificate must be valid for its name (a shorthand for tls: {verify})"},
		Key{Name: "tls", Value: Value{Type: Object, Obj: TLS},
			Doc: "TLS settings for this call (see tls); merged key by key over the http: section's"},
		Key{Name: "version", Value: Value{Type: Enum, Values: HTTPVersions, Template: true}, Default: "auto",
			Doc: "the HTTP version: auto offers h2 and http/1.1 by ALPN over TLS and speaks HTTP/1.1 over plain TCP; \"1.1\" only HTTP/1.1; \"2\" requires HTTP/2 (h2c with prior knowledge over http://); \"3\" speaks HTTP/3 over QUIC (https:// only, TLS 1.3) from the user's address over UDP"},
		Key{Name: "resolve", Value: Value{Type: Map, Elem: &Value{Type: String}},
			Doc: "fixed answers, HOST: IP, like curl --resolve: no DNS query is made for them; they add to the http: section's"},
		Key{Name: "keep_alive", Value: vBool, Default: "true",
			Doc: "whether the connection is kept for the user's next request; false opens a new connection (and TLS handshake) for every request"},
		Key{Name: "user_agent", Value: vString, Default: "ntx/VERSION",
			Doc: "the User-Agent sent when headers give none"},
		Key{Name: "cookies", Value: Value{Type: Enum, Values: CookieModes, Template: true}, Default: "user",
			Doc: "which cookie jar this call sends cookies from and stores the answer's Set-Cookie in: user (the user's, kept across iterations), iteration (emptied when each iteration begins) or off (none sent, none kept)"},
		Key{Name: "auth", Value: Value{Type: Object, Obj: Auth},
			Doc: "credentials sent as the Authorization header: {basic: [USER, PASSWORD]} or {bearer: TOKEN}; like an Authorization header, they are not sent to another host a redirect leads to"},
		Key{Name: "multipart", Value: Value{Type: Map, Elem: &Value{OneOf: []Value{{Type: Object, Obj: MultipartFile}, {Type: String, Template: true}}}},
			Doc: "fields sent as a multipart/form-data body: FIELD: value, or FIELD: {file: PATH, content_type: T} for a file, read once, relative to the scenario file and inside its directory (give one of body, json, form and multipart)"},
		Key{Name: "compression", Value: Value{Type: Enum, Values: Compressions, Template: true}, Default: "none",
			Doc: "gzip sends Accept-Encoding: gzip and decodes a gzipped answer for the result and exports (bytes_received stays the size on the wire; a body that does not decode fails with error kind decode); none asks for no encoding"},
		Key{Name: "proxy", Value: vURL,
			Doc: "an HTTP proxy, http://[USER:PASSWORD@]HOST:PORT: https:// (and h2c) go through a CONNECT tunnel, plain http:// requests are sent to it in absolute form; a refused tunnel fails with error kind proxy"},
		Key{Name: "expect_status", Value: Value{OneOf: []Value{vStatus, {Type: List, Elem: &vStatus, Template: true}}, Template: true},
			Default: "any status below 400", Doc: "the status code, or the list of codes, that count as success"},
		Key{Name: "redirects", Value: Value{Type: Int, Min: 0, HasMin: true, Template: true}, Default: "10",
			Doc: "how many redirects to follow; each hop is measured as a request of its own under the same name, and 0 returns the 3xx itself"},
		keyMaxResponse,
		Key{Name: "discard_body", Value: vBool, Default: "false",
			Doc: "read the response body and count its bytes without keeping it (body is then None); a YAML scenario's HTTP actions whose body no template, condition or content/assert export reads get it by default, and so does a .star call that is a statement of its own (http.get(url), without export)"},
		keyName,
		keyExport,
	)
}

// The values of an HTTP call's compression: a gzipped answer asked for
// and decoded, or none.
const (
	CompressionGzip = "gzip"
	CompressionNone = "none"
)

// Compressions are the values of an HTTP call's compression.
var Compressions = []string{CompressionGzip, CompressionNone}

// The keys of auth and of a multipart file part.
const (
	AuthBasic            = "basic"
	AuthBearer           = "bearer"
	MultipartFileKey     = "file"
	MultipartContentType = "content_type"
	// MultipartDefaultType is a file part's Content-Type when none is given.
	MultipartDefaultType = "application/octet-stream"
)

// Auth is an HTTP call's auth: Basic or Bearer credentials.
var Auth = &Obj{Name: "auth", Doc: "auth takes one of basic: [USER, PASSWORD] or bearer: TOKEN", ExactlyOne: true, Keys: []Key{
	{Name: AuthBasic, Value: Value{Type: List, Elem: &Value{Type: String, Template: true}, Template: true},
		Doc: "a user and a password, sent by HTTP Basic authentication"},
	{Name: AuthBearer, Value: Value{Type: String, Template: true},
		Doc: "a token, sent as Authorization: Bearer TOKEN"},
}}

// MultipartFile is a file part of an HTTP call's multipart.
var MultipartFile = &Obj{Name: "multipart_file", Doc: "a file sent as a part of a multipart/form-data body", Keys: []Key{
	{Name: MultipartFileKey, Value: Value{Type: String}, Required: true,
		Doc: "the file, relative to the scenario file and inside its directory; its base name is the part's filename"},
	{Name: MultipartContentType, Value: Value{Type: String}, Default: MultipartDefaultType,
		Doc: "the part's Content-Type"},
}}

// The values of http.cookies.
const (
	CookiesUser      = "user"      // the user's jar, kept across its iterations
	CookiesIteration = "iteration" // a jar emptied at each iteration
	CookiesOff       = "off"       // no cookies
)

// CookieModes are the values of http.cookies: the user's jar, kept
// across its iterations; a jar emptied at each iteration; no cookies.
var CookieModes = []string{CookiesUser, CookiesIteration, CookiesOff}

// HTTPVersions are the values of an HTTP call's version.
var HTTPVersions = []string{"auto", "1.1", "2", "3"}

// TLSCurves are the key exchanges tls curves names, in Go's default
// order (the default offers them all).
var TLSCurves = []string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "X25519", "P256", "P384", "P521"}

// TLSVersions are the TLS versions min_version and max_version name.
var TLSVersions = []string{"1.0", "1.1", "1.2", "1.3"}

// TLS is the tls mapping of the http: section and of an HTTP call
// (spec §4.1). Its file paths are read when the scenario loads,
// relative to the scenario file.
var TLS = &Obj{Name: "tls", Doc: "how HTTPS connections are made: verification, trusted CAs, a client certificate, the name sent, versions, ciphers, key exchanges, resumption", Keys: []Key{
	{Name: "verify", Value: Value{Type: Bool}, Default: "true",
		Doc: "whether the server's certificate must be valid for its name (tls_verify is a shorthand)"},
	{Name: "ca", Value: Value{Type: String},
		Doc: "a PEM file of CA certificates trusted besides the system's, relative to the scenario file and inside its directory tree"},
	{Name: "cert", Value: Value{Type: String},
		Doc: "a PEM client certificate (mutual TLS), relative to the scenario file and inside its directory tree; give key too"},
	{Name: "key", Value: Value{Type: String},
		Doc: "the PEM private key of cert, relative to the scenario file and inside its directory tree"},
	{Name: "server_name", Value: Value{Type: String},
		Doc: "the name sent as SNI and verified in the certificate, when it differs from the URL's host"},
	{Name: "min_version", Value: Value{Type: Enum, Values: TLSVersions}, Default: "1.2",
		Doc: "the lowest TLS version offered"},
	{Name: "max_version", Value: Value{Type: Enum, Values: TLSVersions}, Default: "1.3",
		Doc: "the highest TLS version offered"},
	{Name: "ciphers", Value: Value{Type: List, Elem: &Value{Type: String}},
		Doc: "the TLS 1.2 and older cipher suites offered, by Go's names (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256...); TLS 1.3's are fixed"},
	{Name: "curves", Value: Value{Type: List, Elem: &Value{Type: Enum, Values: TLSCurves}}, Default: "all, in this order",
		Doc: "the key exchanges offered, most preferred first (at least one); [X25519] skips the post-quantum ML-KEM share that makes a full handshake cost more CPU"},
	{Name: "resumption", Value: Value{Type: Bool}, Default: "true",
		Doc: "whether session tickets are kept (per source address) to resume later handshakes"},
}}

// HTTPSection is the top-level http: section (spec §4.1): defaults for
// every HTTP call, which an action's with: (or a call's keyword
// arguments) override key by key.
var HTTPSection = &Obj{Name: "http", Doc: "defaults for every HTTP call; the same keys under an action's with: override them for that call, and tls merges key by key", Keys: []Key{
	{Name: "version", Value: Value{Type: Enum, Values: HTTPVersions}, Default: "auto",
		Doc: "auto: h2 or http/1.1 by ALPN over TLS, HTTP/1.1 over plain TCP; \"1.1\": HTTP/1.1 only; \"2\": HTTP/2 required (h2c with prior knowledge over http://); \"3\": HTTP/3 over QUIC (https:// only, TLS 1.3), from the user's address over UDP"},
	{Name: "keep_alive", Value: Value{Type: Bool}, Default: "true",
		Doc: "false: a new connection (and TLS handshake) for every request"},
	{Name: "redirects", Value: Value{Type: Int, Min: 0, HasMin: true}, Default: "10",
		Doc: "how many redirects to follow; 0 returns the 3xx itself"},
	{Name: "user_agent", Value: Value{Type: String}, Default: "ntx/VERSION",
		Doc: "the User-Agent sent when a call's headers give none"},
	{Name: "cookies", Value: Value{Type: Enum, Values: CookieModes}, Default: "user",
		Doc: "user: a cookie jar per user, kept across its iterations; iteration: the jar is emptied when each iteration begins; off: no cookie is sent or kept. Cookies set by any response, redirect hops included, go with the user's later requests that match them (domain, path, expiry, Secure), as in a browser"},
	{Name: "timeout", Value: Value{Type: Duration}, Default: DefaultTimeout.String(),
		Doc: "how long a call may take, connecting included"},
	{Name: "max_response", Value: Value{OneOf: []Value{
		{Type: Int, Min: 1, HasMin: true},
		{Type: String, Pattern: SizePattern, Hint: "a size such as 65536, 512KiB or 64MiB"},
	}}, Default: "64MiB", Doc: "the most a response body may bring in"},
	{Name: "tls", Value: Value{Type: Object, Obj: TLS}, Doc: "TLS settings (see tls)"},
	{Name: "tls_verify", Value: Value{Type: Bool}, Default: "true", Doc: "a shorthand for tls: {verify}"},
	{Name: "resolve", Value: Value{Type: Map, Elem: &Value{Type: String}},
		Doc: "fixed answers, HOST: IP, like curl --resolve: no DNS query is made for them"},
	{Name: "dns", Value: Value{Type: Object, Obj: DNS}, Doc: "how ntx resolves host names (see dns)"},
	{Name: "compression", Value: Value{Type: Enum, Values: Compressions}, Default: "none",
		Doc: "gzip: every call asks for a gzipped answer and decodes it (see the call's compression)"},
	{Name: "proxy", Value: Value{Type: URL},
		Doc: "an HTTP proxy for every call, http://[USER:PASSWORD@]HOST:PORT (see the call's proxy)"},
}}

// DNS is the dns mapping of the http: section: ntx's own resolver, whose
// answers are cached for the whole run.
var DNS = &Obj{Name: "dns", Doc: "how host names are resolved: by ntx, each answer cached run-wide for its TTL, the lookup timed; a failed lookup is error kind dns", Keys: []Key{
	{Name: "ttl", Value: Value{Type: Duration}, Default: "the record's TTL",
		Doc: "how long an answer is kept, instead of the record's own TTL"},
	{Name: "servers", Value: Value{Type: List, Elem: &Value{Type: String}}, Default: "the system's resolver",
		Doc: "DNS servers as host:port, asked in order from the user's source address (UDP, TCP when truncated)"},
	{Name: "select", Value: Value{Type: Enum, Values: []string{"first", "random", "round_robin"}}, Default: "first",
		Doc: "which address of an answer a new connection uses"},
}}

// sockKeys returns the keys of tcp.request or udp.request.
func sockKeys(proto Kind) []Key {
	keys := []Key{
		{Name: "address", Value: vAddress, Required: true, Doc: "the host:port to send to"},
		{Name: "send", Value: vString, Doc: "the bytes to send"},
	}
	if proto == TCP {
		keys = append(keys, Key{Name: "read", Value: Value{Template: true, OneOf: []Value{
			{Type: Enum, Values: []string{"line", "close"}, Template: true},
			{Type: Object, Obj: ReadMode},
		}}, Default: "line", Doc: "how much of the reply to read: a line, everything until the server closes, bytes: N, or until: a string that ends it"})
	} else {
		keys = append(keys, Key{Name: "reply", Value: vBool, Default: "true",
			Doc: "whether to wait for a reply datagram"})
	}
	return append(keys,
		Key{Name: "expect", Value: vString, Doc: "a substring the reply must contain, else the call fails with error kind expect"},
		keyTimeout,
		keyBindIP,
		keyMaxResponse,
		keyName,
		keyExport,
	)
}

// ReadMode is the mapping form of tcp.request's read.
var ReadMode = &Obj{
	Name:       "read",
	Doc:        "read takes one of bytes: N or until: STR",
	ExactlyOne: true,
	Keys: []Key{
		{Name: "bytes", Value: Value{Type: Int, Min: 1, HasMin: true}, Doc: "read exactly this many bytes"},
		{Name: "until", Value: Value{Type: String}, Doc: "read until the reply ends with this string"},
	},
}

// httpMethods are the HTTP shorthands, in the order the reference lists them.
var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// Calls are the built-in values of an action's call:.
var Calls = func() []Call {
	calls := []Call{{Name: "http.request", Kind: HTTP, Func: "http.request", Keys: httpKeys(true),
		Doc: "an HTTP request; the method comes from method (default GET)"}}
	for _, m := range httpMethods {
		lower := strings.ToLower(m)
		calls = append(calls, Call{Name: lower, Kind: HTTP, Method: m, Func: "http." + lower, Keys: httpKeys(false),
			Doc: "an HTTP " + m + " request"})
	}
	for _, m := range httpMethods {
		lower := strings.ToLower(m)
		calls = append(calls, Call{Name: "http." + lower, Kind: HTTP, Method: m, Func: "http." + lower, Keys: httpKeys(false),
			Doc: "the same as " + lower})
	}
	return append(calls,
		Call{Name: "tcp.request", Kind: TCP, Func: "tcp.request", Keys: sockKeys(TCP),
			Doc: "connects over TCP, sends, reads a reply and closes"},
		Call{Name: "udp.request", Kind: UDP, Func: "udp.request", Keys: sockKeys(UDP),
			Doc: "sends one datagram and, unless reply is false, waits for one back"},
		Call{Name: "sleep", Kind: Sleep, Func: "sleep",
			Keys: []Key{{Name: "duration", Value: vDuration, Required: true, Doc: "how long to pause"}},
			Doc:  "a pause; it is not measured and has no result"},
		Call{Name: "dns.query", Kind: DNSQuery, Func: "dns.query", Keys: dnsKeys(), MeasuredAs: "label",
			Doc: "sends one DNS query from the user's address and waits for the answer"},
		Call{Name: "ws.request", Kind: WS, Func: "ws.request", Keys: wsKeys(true),
			Doc: "opens a WebSocket from the user's address, sends each message of send, reads the answers, checks them and closes"},
	)
}()

// Funcs are the Starlark built-in functions.
var Funcs = func() []Func {
	var out []Func
	for _, c := range Calls {
		if c.Name != c.Func {
			continue // get is http.get
		}
		returns := "a result"
		if c.Kind == Sleep {
			returns = "None"
		}
		out = append(out, Func{Name: c.Func, Params: c.Keys, Returns: returns, Doc: c.Doc})
	}
	return append(out,
		Func{Name: "check", Params: []Key{
			{Name: "cond", Value: Value{Type: Any}, Required: true, Doc: "judged by Starlark truth"},
			{Name: "name", Value: Value{Type: String}, Required: true, Doc: "the name the check is counted under"},
		}, Returns: "bool", Doc: "records a named check; a failed check does not stop the iteration but fails the run"},
		Func{Name: "fail", Args: "the message, its parts joined by spaces",
			Params: []Key{{Name: "reason", Value: Value{Type: String}, Default: "fail", Doc: "the failure reason the iteration is counted under"}},
			Doc:    "ends the iteration as failed"},
		Func{Name: "log", Args: "the values to write, joined by spaces", Returns: "None",
			Doc: "writes a line, tagged with the user's id, to the run's log"},
		Func{Name: "run_action", Params: []Key{
			{Name: "name", Value: Value{Type: String}, Required: true, Doc: "the name the action is measured under"},
			{Name: "fn", Value: Value{Type: Any}, Required: true, Doc: "the custom action's function"},
			{Name: "ctx", Value: Value{Type: Any}, Required: true, Doc: "its first argument (the user)"},
			keyExport,
		}, Kwargs: "passed on to fn", Returns: "a result",
			Doc: "calls fn(ctx, **kwargs) as a measured custom action: its returned dict or struct's ok (default True) decides success, its other fields become exports, and an error it raises fails the action"},
		Func{Name: "results", Returns: "a results mapping",
			Doc: "a new mapping from action id to result; an action not run yet reads as a result whose ok is False and whose other fields are None"},
		Func{Name: "struct", Kwargs: "the fields", Returns: "a struct",
			Doc: "an immutable value with the given fields"},
		Func{Name: "random.int", Params: []Key{
			{Name: "a", Value: Value{Type: Int}, Required: true, Doc: "the least value"},
			{Name: "b", Value: Value{Type: Int}, Required: true, Doc: "the greatest value"},
		}, Returns: "int", Doc: "a whole number from a to b, both included"},
		Func{Name: "random.float", Params: []Key{
			{Name: "a", Value: Value{Type: Number}, Default: "0", Doc: "the least value (give both bounds or neither)"},
			{Name: "b", Value: Value{Type: Number}, Default: "1", Doc: "the bound the value stays below"},
		}, Returns: "float", Doc: "a number from a up to, not including, b"},
		Func{Name: "random.choice", Params: []Key{
			{Name: "seq", Value: Value{Type: Any}, Required: true, Doc: "a non-empty list, tuple or string"},
		}, Returns: "an element of seq", Doc: "one element of seq"},
		Func{Name: "random.shuffle", Params: []Key{
			{Name: "seq", Value: Value{Type: Any}, Required: true, Doc: "a list or another iterable"},
		}, Returns: "list", Doc: "a new list of seq's elements in random order; seq itself is left as it is (it may be frozen, like a data row's list)"},
		Func{Name: "random.string", Params: []Key{
			{Name: "n", Value: Value{Type: Int, Min: 0, HasMin: true}, Required: true, Doc: "how many characters"},
			{Name: "chars", Value: Value{Type: String}, Default: "A-Z, a-z and 0-9", Doc: "the characters to draw from"},
		}, Returns: "string", Doc: "n characters drawn from chars"},
		Func{Name: "random.uuid", Returns: "string", Doc: "a version 4 UUID, drawn from the user's stream like every other choice"},
		Func{Name: "ws.connect", Params: wsKeys(false), Returns: "a WebSocket session",
			Doc: "opens a WebSocket from the user's address and returns the open session (see its methods); the connect time is measured as NAME.connect, each message received as NAME, timed from the send it answers; a session the flow leaves open is closed at the end of the iteration"},
	)
}()

// randomMembers are the functions of the random module.
func randomMembers() []string {
	var out []string
	for _, f := range Funcs {
		if m, ok := strings.CutPrefix(f.Name, "random."); ok {
			out = append(out, m)
		}
	}
	return out
}

// Predeclared are the names every Starlark program sees.
var Predeclared = func() []Name {
	var httpMembers []string
	for _, f := range Funcs {
		if m, ok := strings.CutPrefix(f.Name, "http."); ok {
			httpMembers = append(httpMembers, m)
		}
	}
	return []Name{
		{Name: "http", Kind: Module, Members: httpMembers, Doc: "HTTP calls: request, and one shorthand per method"},
		{Name: "tcp", Kind: Module, Members: []string{"request"}, Doc: "tcp.request"},
		{Name: "udp", Kind: Module, Members: []string{"request"}, Doc: "udp.request"},
		{Name: "sleep", Kind: Function, Doc: "sleep(duration)"},
		{Name: "check", Kind: Function, Doc: "check(cond, name)"},
		{Name: "fail", Kind: Function, Doc: "fail(*args, reason)"},
		{Name: "log", Kind: Function, Doc: "log(*args)"},
		{Name: "results", Kind: Function, Doc: "results()"},
		{Name: "run_action", Kind: Function, Doc: "run_action(name, fn, ctx, **kwargs)"},
		{Name: "struct", Kind: Function, Doc: "struct(**kwargs)"},
		{Name: "json", Kind: Module, InTemplates: true, Doc: "Starlark's json module: encode, decode, indent; a value or text nested more than 1,000 levels deep is an error"},
		{Name: "time", Kind: Module, InTemplates: true, Doc: "Starlark's time module: now, parse_duration, time..."},
		{Name: "math", Kind: Module, InTemplates: true, Doc: "Starlark's math module: floor, ceil, sqrt, pi..."},
		{Name: "env", Kind: Variable, Doc: "the process environment, read-only: env.NAME is a string, or None when unset"},
		{Name: "vars", Kind: Variable, PerRun: true, Doc: "the run-wide variables: the scenario's variables and workbook-scoped exports, shared by every user"},
		{Name: "random", Kind: Module, Members: randomMembers(), InTemplates: true,
			Doc: "random choices from a stream per user, seeded by --seed and the user's id: the same seed gives each user the same choices"},
		{Name: "setup", Kind: Variable, PerRun: true,
			Doc: "the frozen value the scenario's def setup(): returned, run once before any user starts (None without one); def teardown(data): runs once after the last user, given it"},
		{Name: "dns", Kind: Module, Members: []string{"query"}, Doc: "dns.query: one DNS query from the user's address"},
		{Name: "ws", Kind: Module, Members: []string{"connect", "request"}, Doc: "WebSocket: ws.request, one exchange; ws.connect, a session"},
		{Name: "str", Kind: Function, Doc: "Starlark's str(x); x nested more than 1,000 levels deep is an error (formatting it would overflow Go's stack)"},
		{Name: "repr", Kind: Function, Doc: "Starlark's repr(x), with str's bound on nesting"},
		{Name: "print", Kind: Function, Doc: "Starlark's print(*args), with str's bound on nesting"},
		{Name: "data", Kind: Variable, PerRun: true,
			Doc: "the datasets of the scenario's data: section: data.ID is the row this user holds in this iteration, its columns read as data.ID.COLUMN or data.ID[\"COLUMN\"]"},
	}
}()

// TemplateRoots are the names a template may start a path with besides
// action and resource ids.
var TemplateRoots = []string{"user", "tenant", "vars", "env", "data"}

// ProgramNames are the globals a compiled YAML scenario defines itself
// (and r, the results of the iteration).
var ProgramNames = []string{"scenario", "flow", "r", "NODES"}

// ResultAttrs are the attributes of every call's result, read in
// Starlark as res.NAME and in templates as ACTION.NAME. Exports add more.
var ResultAttrs = []Attr{
	{Name: "status_code", Type: "int or None", Doc: "the HTTP status; None for TCP, UDP and when no response came"},
	{Name: "ok", Type: "bool", Doc: "whether the call succeeded: a response with an expected status, a reply containing expect, a custom action's ok"},
	{Name: "latency_ms", Type: "float", Doc: "how long the call took, in milliseconds"},
	{Name: "body", Type: "string", Doc: "the response body, or the TCP/UDP reply"},
	{Name: "headers", Type: "dict", Doc: "the response headers, with lower-case names; repeated headers are joined with \", \""},
	{Name: "json", Type: "method", Doc: "json() decodes the body as JSON (None if it is not JSON); in templates ACTION.json is the decoded value"},
	{Name: "error", Type: "string or None", Doc: "why the call failed, or None"},
	{Name: "source_ip", Type: "string or None", Doc: "the source address the call was sent from"},
	{Name: "url", Type: "string or None", Doc: "the URL requested, after any redirects (tcp://host:port and udp://host:port for sockets)"},
	{Name: "redirects", Type: "int", Doc: "how many redirects an HTTP call followed"},
	{Name: "rcode", Type: "string or None", Doc: "a DNS answer's response code: \"NOERROR\", \"NXDOMAIN\", \"SERVFAIL\"...; None for other calls and when no answer came"},
	{Name: "answers", Type: "list or None", Doc: "a DNS answer's records, each a dict {name, type, ttl, data}; None for other calls"},
	{Name: "truncated", Type: "bool or None", Doc: "whether the DNS answer came with the TC flag (cut to fit a UDP datagram); None for other calls"},
	{Name: "messages", Type: "list or None", Doc: "the WebSocket messages ws.request received, in order (body is the last); None for other calls"},
	{Name: "proto", Type: "string or None", Doc: "the HTTP version spoken: \"HTTP/1.1\", \"HTTP/2.0\", \"HTTP/3.0\" (\"HTTP/1.0\" from an old server); None for TCP, UDP and when no response came"},
}

// UserFields are the fields of `user`. User-scoped exports add more.
var UserFields = []Attr{
	{Name: "id", Type: "int", Doc: "the user's number, from 1"},
	{Name: "iteration", Type: "int", Doc: "the iteration being run, from 1"},
	{Name: "allocated_ip", Type: "string or None", Doc: "the source address the user holds, or None"},
	{Name: "tenant", Type: "struct or None", Doc: "the user's tenant: its id and properties"},
	{Name: "data", Type: "dict", Doc: "a scratch dict of the user's own, kept across its iterations"},
	{Name: "cookies", Type: "cookie jar", Doc: "the user's cookies (the jar http.cookies names): get(url) returns the dict name -> value a request to url would send; set(url, name, value, path, domain, secure, http_only, max_age) stores one as if url's answer had set it; clear() empties the jar"},
}

// TenantFields are the fields of a tenant besides its properties.
var TenantFields = []Attr{
	{Name: "id", Type: "string", Doc: "the tenant's id"},
}

// DNSTypes are the record types dns.query asks for.
var DNSTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "PTR", "SOA"}

// DNSTransports are the transports of dns.query, the default first: udp,
// tcp, and tls (DNS over TLS, RFC 7858).
var DNSTransports = []string{"udp", "tcp", "tls"}

// DNSRcodes are the response codes an expectation may name.
var DNSRcodes = []string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}

// CountPattern is a count condition: a number (exactly that many), or a
// comparison with one: ">= 1", "== 0", "< 10".
const CountPattern = `^\s*(==|!=|>=|<=|>|<)?\s*[0-9]+\s*$`

// DNSExpect is dns.query's expect: what the answer must be for the query
// to count as a success.
var DNSExpect = &Obj{Name: "dns expect", Doc: "what a DNS answer must be for the query to succeed; a query that gives no expect must be answered NOERROR", Keys: []Key{
	{Name: "rcode", Value: Value{Type: Enum, Values: DNSRcodes, Template: true}, Default: "NOERROR",
		Doc: "the response code the answer must have"},
	{Name: "answers", Value: Value{Template: true, OneOf: []Value{
		{Type: Int, Min: 0, HasMin: true, Template: true},
		{Type: String, Pattern: CountPattern, Hint: "a count such as 2, \">= 1\" or \"== 0\"", Template: true},
	}}, Default: "any number",
		Doc: "how many records the answer section must hold: a number (exactly that many), or a comparison such as \">= 1\", \"== 0\", \"< 10\""},
}}

// dnsKeys returns the keys of dns.query.
func dnsKeys() []Key {
	return []Key{
		{Name: "name", Value: vString, Required: true, Doc: "the name to ask about (a trailing dot is optional)"},
		{Name: "server", Value: vAddress, Default: "the first nameserver of /etc/resolv.conf",
			Doc: "the DNS server as host:port; no port is assumed (servers listen on 53 for udp and tcp, 853 for tls)"},
		{Name: "type", Value: Value{Type: Enum, Values: DNSTypes, Template: true}, Default: "A", Doc: "the record type asked for"},
		{Name: "transport", Value: Value{Type: Enum, Values: DNSTransports, Template: true}, Default: DNSTransports[0],
			Doc: "udp, tcp, or tls (DNS over TLS, RFC 7858)"},
		{Name: "tcp_fallback", Value: vBool, Default: "false",
			Doc: "ask again over TCP when a UDP answer comes truncated (TC); without it the truncated answer is the result (truncated is true)"},
		{Name: "expect", Value: Value{Type: Object, Obj: DNSExpect}, Doc: "what the answer must be (see dns expect); the query fails with error kind expect otherwise"},
		{Name: "tls", Value: Value{Type: Object, Obj: TLS},
			Doc: "TLS settings of transport: tls (verify, ca, cert, key, server_name, versions); merged over the http: section's"},
		keyTimeout,
		keyBindIP,
		{Name: "label", Value: vString,
			Doc: "the name the query is measured under (name is the name asked about): default the action id in YAML, \"DNS TYPE NAME\" in Starlark"},
		keyExport,
	}
}

// wsKeys returns the keys of ws.request (exchange) or ws.connect.
func wsKeys(exchange bool) []Key {
	keys := []Key{
		{Name: "url", Value: vURL, Required: true, Doc: "the ws:// or wss:// URL to open"},
	}
	if exchange {
		keys = append(keys,
			Key{Name: "send", Value: Value{Template: true, OneOf: []Value{vString, {Type: List, Elem: &vString, Template: true}}},
				Doc: "the text message to send, or a list of them, each sent in turn"},
			Key{Name: "receive", Value: Value{Type: Int, Min: 0, HasMin: true, Template: true}, Default: "one per message sent",
				Doc: "how many messages to read; each is read after the message it answers is sent, the rest after the last"},
			Key{Name: "expect", Value: vString, Doc: "a substring every message received must contain, else the call fails with error kind expect"},
		)
	}
	keys = append(keys,
		Key{Name: "headers", Value: vMap, Doc: "headers of the opening handshake"},
		Key{Name: "subprotocols", Value: Value{Type: List, Elem: &vString, Template: true},
			Doc: "the subprotocols offered (Sec-WebSocket-Protocol), in order of preference"},
		Key{Name: "tls", Value: Value{Type: Object, Obj: TLS}, Doc: "TLS settings of a wss:// URL (see tls); merged over the http: section's"},
		Key{Name: "timeout", Value: vDuration, Default: DefaultTimeout.String(),
			Doc: "how long opening the WebSocket, and each wait for a message, may take before it fails with error kind timeout"},
		keyBindIP,
		Key{Name: "max_response", Value: keyMaxResponse.Value, Default: "64MiB",
			Doc: "the largest message that may be received; a larger one fails with error kind too_large (and the WebSocket is closed)"},
		Key{Name: "name", Value: vString,
			Doc: "the name round trips are measured under, and NAME.connect the opening (default: the action id in YAML; in Starlark, WS /path)"},
	)
	if exchange {
		keys = append(keys, keyExport)
	}
	return keys
}

// WSSessionAttrs are the attributes of the session ws.connect returns.
var WSSessionAttrs = []Attr{
	{Name: "ok", Type: "bool", Doc: "whether the WebSocket opened and no call on it has failed it since"},
	{Name: "error", Type: "string or None", Doc: "why the session failed, or None"},
	{Name: "latency_ms", Type: "float", Doc: "how long opening the WebSocket took, in milliseconds"},
	{Name: "source_ip", Type: "string or None", Doc: "the source address of the connection"},
	{Name: "subprotocol", Type: "string or None", Doc: "the subprotocol the server chose, or None"},
	{Name: "send", Type: "method", Doc: "send(text) sends one text message; it returns True, or False when the session has failed (the failure is counted once)"},
	{Name: "recv", Type: "method", Doc: "recv(timeout=…) waits for the next message and returns a result: body is the message, latency_ms the time since the send it answers (or since recv was called, when no send is waiting for an answer); measured as NAME"},
	{Name: "close", Type: "method", Doc: "close() closes the WebSocket (a close frame, then the connection); calling it again does nothing"},
}
