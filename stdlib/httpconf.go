package stdlib

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/transport"
)

// HTTPConfig is the run's http: section (spec §4.1), shared by every
// user's session: the defaults of every HTTP call, which a call's own
// keyword arguments override key by key.
type HTTPConfig struct {
	Version     transport.Version
	KeepAlive   bool
	Redirects   int
	UserAgent   string        // "" is the transport's
	Timeout     time.Duration // 0 is catalog.DefaultTimeout
	MaxResponse int64         // 0 is the transport's default
	Cookies     CookieMode    // which jar calls use (the zero value: the user's)
	TLS         transport.TLSSettings
	// Resolve are fixed answers by lower-case host name; Resolver
	// resolves the other names, with the run's cache (nil: the system,
	// at every new connection).
	Resolve  map[string]string
	Resolver *transport.Resolver
	// ReadFile reads a TLS file as the scenario names it (relative to
	// the scenario file, inside its tree).
	ReadFile func(path string) ([]byte, error)
	// Compression asks every call for a gzipped answer, decoded.
	Compression bool
	// Proxy is the HTTP proxy calls go through; nil: none.
	Proxy *url.URL

	profiles sync.Map // TLSSettings.Fingerprint() -> *transport.TLSProfile

	// URLs the calls parsed, by a hash of their text, shared by the
	// run's users: most send the same few over and over. A slot is
	// written only when it misses, so URLs that change with every call
	// (ids in paths) spread their writes over the slots.
	urls [64]atomic.Pointer[parsedURL]

	// The profile of TLS itself, which most calls use: made once.
	baseOnce sync.Once
	base     *transport.TLSProfile
	baseErr  error

	files sync.Map // multipart file path -> []byte, read once per run
}

// file returns the content of a file a call names (a multipart part),
// read through ReadFile once per run: users share it.
func (c *HTTPConfig) file(path string) ([]byte, error) {
	if c == nil || c.ReadFile == nil {
		return nil, fmt.Errorf("no files can be read here")
	}
	if b, ok := c.files.Load(path); ok {
		return b.([]byte), nil
	}
	b, err := c.ReadFile(path)
	if err != nil {
		return nil, err
	}
	actual, _ := c.files.LoadOrStore(path, b)
	return actual.([]byte), nil
}

// parsedURL is a URL as written and parsed; the parsed URL is never
// modified.
type parsedURL struct {
	text string
	url  *url.URL
}

// baseProfile is profile(c.TLS), computed once.
func (c *HTTPConfig) baseProfile() (*transport.TLSProfile, error) {
	c.baseOnce.Do(func() { c.base, c.baseErr = c.profile(c.TLS) })
	return c.base, c.baseErr
}

// DefaultHTTP is the configuration of a run without an http: section.
func DefaultHTTP() *HTTPConfig {
	return &HTTPConfig{KeepAlive: true, Redirects: transport.DefaultRedirects}
}

var noTLS = transport.TLSSettings{}.Fingerprint()

// profile returns the TLS profile of settings t, built once per run; nil
// when t asks for nothing beyond the defaults.
func (c *HTTPConfig) profile(t transport.TLSSettings) (*transport.TLSProfile, error) {
	key := t.Fingerprint()
	if key == noTLS {
		return nil, nil
	}
	if p, ok := c.profiles.Load(key); ok {
		return p.(*transport.TLSProfile), nil
	}
	read := c.ReadFile
	if read == nil {
		read = func(path string) ([]byte, error) {
			return nil, fmt.Errorf("no files can be read here")
		}
	}
	p, err := transport.NewTLSProfile(t, read)
	if err != nil {
		return nil, err
	}
	actual, _ := c.profiles.LoadOrStore(key, p)
	return actual.(*transport.TLSProfile), nil
}

// tlsArg reads a call's tls argument, a dict with the keys of
// catalog.TLS.
func tlsArg(fn string, v starlark.Value) (transport.TLSSettings, error) {
	var t transport.TLSSettings
	if v == nil || v == starlark.None {
		return t, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return t, fmt.Errorf("%s: tls must be a dict, not %s", fn, v.Type())
	}
	for _, kv := range d.Items() {
		k, ok := starlark.AsString(kv[0])
		if !ok {
			return t, fmt.Errorf("%s: tls keys must be strings, not %s", fn, kv[0].Type())
		}
		if _, known := catalog.TLS.Key(k); !known {
			return t, fmt.Errorf("%s: unknown tls key %q (one of %v)", fn, k, catalog.TLS.Names())
		}
		val := kv[1]
		str := func() (string, error) {
			s, ok := starlark.AsString(val)
			if !ok {
				return "", fmt.Errorf("%s: tls %s must be a string, not %s", fn, k, val.Type())
			}
			return s, nil
		}
		boolean := func() (*bool, error) {
			b, ok := val.(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("%s: tls %s must be True or False, not %s", fn, k, val.Type())
			}
			out := bool(b)
			return &out, nil
		}
		var err error
		switch k {
		case "verify":
			t.Verify, err = boolean()
		case "resumption":
			t.Resumption, err = boolean()
		case "ca":
			t.CA, err = str()
		case "cert":
			t.Cert, err = str()
		case "key":
			t.Key, err = str()
		case "server_name":
			t.ServerName, err = str()
		case "min_version", "max_version":
			s := formatValue(val)
			if x, ok := starlark.AsString(val); ok {
				s = x
			}
			var ver uint16
			if ver, err = transport.ParseTLSVersion(s); err != nil {
				err = fmt.Errorf("%s: tls %s: %v", fn, k, err)
			} else if k == "min_version" {
				t.MinVersion = ver
			} else {
				t.MaxVersion = ver
			}
		case "ciphers":
			l, ok := val.(starlark.Indexable)
			if !ok {
				return t, fmt.Errorf("%s: tls ciphers must be a list of names, not %s", fn, val.Type())
			}
			t.Ciphers = []uint16{}
			for i := 0; i < l.Len(); i++ {
				name, ok := starlark.AsString(l.Index(i))
				if !ok {
					return t, fmt.Errorf("%s: tls ciphers must be a list of names", fn)
				}
				id, cerr := transport.ParseCipher(name)
				if cerr != nil {
					return t, fmt.Errorf("%s: tls ciphers: %v", fn, cerr)
				}
				t.Ciphers = append(t.Ciphers, id)
			}
		case "curves":
			l, ok := val.(starlark.Indexable)
			if !ok {
				return t, fmt.Errorf("%s: tls curves must be a list of names, not %s", fn, val.Type())
			}
			if l.Len() == 0 {
				return t, fmt.Errorf("%s: tls curves: name at least one key exchange (leave curves out for Go's default)", fn)
			}
			t.Curves = []tls.CurveID{}
			for i := 0; i < l.Len(); i++ {
				name, ok := starlark.AsString(l.Index(i))
				if !ok {
					return t, fmt.Errorf("%s: tls curves must be a list of names", fn)
				}
				id, cerr := transport.ParseCurve(name)
				if cerr != nil {
					return t, fmt.Errorf("%s: tls curves: %v", fn, cerr)
				}
				t.Curves = append(t.Curves, id)
			}
		}
		if err != nil {
			return t, err
		}
	}
	return t, nil
}

// checkHTTP3 reports what HTTP/3 cannot do: a URL that is not https://
// (QUIC is always encrypted), a proxy (ntx's proxies tunnel TCP only:
// the call would go direct), or TLS settings that end below TLS 1.3,
// the only version QUIC runs on.
func checkHTTP3(v transport.Version, u *url.URL, t transport.TLSSettings, proxy *url.URL) error {
	if v != transport.Version3 {
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("version \"3\" (HTTP/3 over QUIC) needs an https:// URL, not %s", u.Redacted())
	}
	if proxy != nil {
		return fmt.Errorf("version \"3\" (HTTP/3 over QUIC) cannot go through proxy %s (an HTTP proxy tunnels TCP only): drop the proxy or ask for another version", proxy.Redacted())
	}
	if t.MaxVersion != 0 && t.MaxVersion < tls.VersionTLS13 {
		return fmt.Errorf("version \"3\" (HTTP/3 over QUIC) runs on TLS 1.3 only: tls max_version must not be below 1.3")
	}
	return nil
}

// versionArg reads a call's version: "auto", "1.1", "2" or "3" (as
// numbers too); None keeps def.
func versionArg(fn string, v starlark.Value, def transport.Version) (transport.Version, error) {
	var s string
	switch x := v.(type) {
	case nil, starlark.NoneType:
		return def, nil
	case starlark.String:
		s = string(x)
	case starlark.Int, starlark.Float:
		s = x.String()
	default:
		return def, fmt.Errorf("%s: version must be \"auto\", \"1.1\", \"2\" or \"3\", not %s", fn, v.Type())
	}
	ver, err := transport.ParseVersion(s)
	if err != nil {
		return def, fmt.Errorf("%s: %v", fn, err)
	}
	return ver, nil
}

// resolveArg reads a call's resolve dict, HOST: IP, and returns it over
// the section's entries (base).
func resolveArg(fn string, v starlark.Value, base map[string]string) (map[string]string, error) {
	if v == nil || v == starlark.None {
		return base, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: resolve must be a dict of HOST: IP, not %s", fn, v.Type())
	}
	out := make(map[string]string, len(base)+d.Len())
	for k, ip := range base {
		out[k] = ip
	}
	for _, kv := range d.Items() {
		host, ok1 := starlark.AsString(kv[0])
		ip, ok2 := starlark.AsString(kv[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: resolve must map host names to IP strings", fn)
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("%s: resolve %s: %q is not an IP address", fn, host, ip)
		}
		out[strings.ToLower(host)] = ip
	}
	return out, nil
}
