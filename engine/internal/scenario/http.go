package scenario

import (
	"crypto/tls"
	"errors"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/expr"
	"github.com/ntx-dev/ntx/engine/transport"
)

// HTTP is the top-level http: section (spec §4.1): defaults for every
// HTTP call of the run, which a call's own keys override. A nil pointer
// or zero value is "not given": the built-in default applies.
type HTTP struct {
	Version     string // auto, 1.1, 2; "" is auto
	KeepAlive   *bool
	Redirects   *int
	UserAgent   string
	Cookies     string // user, iteration, off; "" is user
	Timeout     time.Duration
	MaxResponse int64
	TLS         transport.TLSSettings
	// Resolve are fixed answers by lower-case host name.
	Resolve map[string]string
	// DNS configures ntx's resolver.
	DNSTTL     time.Duration
	DNSServers []string
	DNSSelect  string
	// Compression is gzip or none ("": none); Proxy the proxy URL, checked.
	Compression string
	Proxy       string
	Pos         Pos
	// tlsPos is where each of tls's file keys was written.
	tlsPos map[string]Pos
	// proxyPos is where proxy was written.
	proxyPos Pos
}

// ReadFile reads a file a scenario names (a TLS certificate or key),
// relative to the scenario file and inside its directory tree, symbolic
// links resolved. The run reads TLS files through it, as the load did.
func (s *Scenario) ReadFile(path string) ([]byte, error) {
	dir := filepath.Dir(s.File)
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, path)
	}
	real, err := InsideTree(dir, full)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(real)
}

// httpSection decodes the http: section.
func (d *decoder) httpSection(s *Scenario, n *yaml.Node) {
	f := d.fields(n, "http", catalog.HTTPSection.Names()...)
	h := &s.HTTP
	h.Pos = d.pos(n)
	if x, ok := f["version"]; ok {
		h.Version = d.oneOf(x.value, "http.version", catalog.HTTPVersions...)
	}
	if x, ok := f["keep_alive"]; ok {
		b := d.boolean(x.value, "http.keep_alive")
		h.KeepAlive = &b
	}
	if x, ok := f["redirects"]; ok {
		r := d.integer(x.value, "http.redirects", 0)
		h.Redirects = &r
	}
	if x, ok := f["cookies"]; ok {
		h.Cookies = d.oneOf(x.value, "http.cookies", catalog.CookieModes...)
	}
	if x, ok := f["user_agent"]; ok {
		h.UserAgent = d.str(x.value, "http.user_agent")
	}
	if x, ok := f["timeout"]; ok {
		h.Timeout = d.duration(x.value, "http.timeout")
	}
	if x, ok := f["max_response"]; ok {
		v := deref(x.value)
		if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
			h.MaxResponse = int64(d.integer(v, "http.max_response", 1))
		} else if size, err := catalog.ParseSize(d.str(v, "http.max_response")); err != nil {
			d.errorf(v, "http.max_response: %v", err)
		} else {
			h.MaxResponse = size
		}
	}
	if x, ok := f["tls"]; ok {
		h.TLS, h.tlsPos = d.tls(x.value, "http.tls")
	}
	if x, ok := f["resolve"]; ok {
		h.Resolve = d.resolve(x.value, "http.resolve")
	}
	if x, ok := f["dns"]; ok {
		df := d.fields(x.value, "http.dns", catalog.DNS.Names()...)
		if y, ok := df["ttl"]; ok {
			h.DNSTTL = d.duration(y.value, "http.dns.ttl")
		}
		if y, ok := df["servers"]; ok {
			for _, n := range d.list(y.value, "http.dns.servers") {
				srv := d.str(n, "http.dns.servers entry")
				if _, _, err := net.SplitHostPort(srv); srv != "" && err != nil {
					d.errorf(n, "http.dns.servers entry %q is not host:port", srv)
				}
				h.DNSServers = append(h.DNSServers, srv)
			}
		}
		if y, ok := df["select"]; ok {
			h.DNSSelect = d.oneOf(y.value, "http.dns.select", catalog.DNS.Values("select")...)
		}
	}
	if x, ok := f["compression"]; ok {
		h.Compression = d.oneOf(x.value, "http.compression", catalog.Compressions...)
	}
	if x, ok := f["proxy"]; ok {
		h.Proxy = d.str(x.value, "http.proxy")
		h.proxyPos = d.pos(x.key)
		if _, err := transport.ParseProxy(h.Proxy); h.Proxy != "" && err != nil {
			d.errorf(x.value, "http.%v", err)
		}
	}
	if x, ok := f["tls_verify"]; ok {
		b := d.boolean(x.value, "http.tls_verify")
		if h.TLS.Verify != nil && *h.TLS.Verify != b {
			d.errorf(x.key, "http.tls_verify says %v and http.tls.verify says %v: give one", b, *h.TLS.Verify)
		}
		h.TLS.Verify = &b
	}
}

// resolve decodes a resolve mapping, HOST: IP.
func (d *decoder) resolve(n *yaml.Node, what string) map[string]string {
	m := d.mapping(n, what)
	if m == nil {
		return nil
	}
	out := map[string]string{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		ip := d.str(m.Content[i+1], what+" entry")
		if _, err := netip.ParseAddr(ip); ip != "" && err != nil {
			d.errorf(m.Content[i+1], "%s: %q is not an IP address", what, ip)
			continue
		}
		out[strings.ToLower(m.Content[i].Value)] = ip
	}
	return out
}

// tls decodes a tls mapping (the http: section's, or an action's), and
// returns where each file key (and max_version) was written.
func (d *decoder) tls(n *yaml.Node, what string) (transport.TLSSettings, map[string]Pos) {
	var t transport.TLSSettings
	pos := map[string]Pos{}
	f := d.fields(n, what, catalog.TLS.Names()...)
	for _, k := range []string{"ca", "cert", "key", "max_version"} {
		if x, ok := f[k]; ok {
			pos[k] = d.pos(x.value)
		}
	}
	for k, x := range f {
		name := what + "." + k
		switch k {
		case "verify", "resumption":
			b := d.boolean(x.value, name)
			if k == "verify" {
				t.Verify = &b
			} else {
				t.Resumption = &b
			}
		case "ca":
			t.CA = d.str(x.value, name)
		case "cert":
			t.Cert = d.str(x.value, name)
		case "key":
			t.Key = d.str(x.value, name)
		case "server_name":
			t.ServerName = d.str(x.value, name)
		case "min_version", "max_version":
			v := deref(x.value)
			if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
				d.errorf(v, "%s must be one of 1.0, 1.1, 1.2, 1.3, not %s", name, kindName(v))
				continue
			}
			ver, err := transport.ParseTLSVersion(v.Value)
			if err != nil {
				d.errorf(v, "%s: %v", name, err)
				continue
			}
			if k == "min_version" {
				t.MinVersion = ver
			} else {
				t.MaxVersion = ver
			}
		case "ciphers":
			t.Ciphers = []uint16{}
			for _, c := range d.list(x.value, name) {
				id, err := transport.ParseCipher(d.str(c, name+" entry"))
				if err != nil {
					d.errorf(c, "%s: %v", name, err)
					continue
				}
				t.Ciphers = append(t.Ciphers, id)
			}
		case "curves":
			t.Curves = []tls.CurveID{}
			list := d.list(x.value, name)
			if len(list) == 0 && deref(x.value).Kind == yaml.SequenceNode {
				d.errorf(x.value, "%s: name at least one key exchange (leave curves out for Go's default)", name)
			}
			for _, c := range list {
				id, err := transport.ParseCurve(d.str(c, name+" entry"))
				if err != nil {
					d.errorf(c, "%s: %v", name, err)
					continue
				}
				t.Curves = append(t.Curves, id)
			}
		}
	}
	return t, pos
}

// checkTLS reads and parses the files of t (merged settings), reporting
// an unusable one at the position its key was written (pos, else at).
func (v *validator) checkTLS(t transport.TLSSettings, pos map[string]Pos, at Pos) bool {
	if t.CA == "" && t.Cert == "" && t.Key == "" && t.MinVersion == 0 && t.MaxVersion == 0 {
		return true
	}
	_, err := transport.NewTLSProfile(t, v.s.ReadFile)
	if err == nil {
		return true
	}
	where := at
	var fe *transport.TLSFileError
	if errors.As(err, &fe) {
		if p, ok := pos[fe.Key]; ok {
			where = p
		}
	}
	v.errorf(where, "%v", err)
	return false
}

// checkHTTP3 reports TLS settings that end below TLS 1.3 where HTTP/3
// is asked for: QUIC runs on TLS 1.3 only. The error is at max_version
// (pos), else at the version key (at).
func (v *validator) checkHTTP3(version string, t transport.TLSSettings, pos map[string]Pos, at Pos) bool {
	if version != "3" || t.MaxVersion == 0 || t.MaxVersion >= tls.VersionTLS13 {
		return true
	}
	where := at
	if p, ok := pos["max_version"]; ok {
		where = p
	}
	v.errorf(where, "tls max_version is below 1.3, and version \"3\" (HTTP/3 over QUIC) runs on TLS 1.3 only")
	return false
}

// httpTLS checks the TLS files of the http: section, and of each HTTP
// action's with.tls merged over it, when the scenario loads; and that
// the TLS settings of HTTP/3 calls allow TLS 1.3.
func (v *validator) httpTLS() {
	if !v.checkTLS(v.s.HTTP.TLS, v.s.HTTP.tlsPos, v.s.HTTP.Pos) {
		return // one error for the section's files, not one per action
	}
	if !v.checkHTTP3(v.s.HTTP.Version, v.s.HTTP.TLS, v.s.HTTP.tlsPos, v.s.HTTP.Pos) {
		return
	}
	if !v.checkHTTP3Proxy(v.s.HTTP.Version, v.s.HTTP.Proxy != "", v.s.HTTP.proxyPos) {
		return
	}
	for _, a := range v.s.Actions {
		if a.Kind != catalog.HTTP || a.With == nil {
			continue
		}
		w := deref(a.With)
		if w.Kind != yaml.MappingNode {
			continue
		}
		version, versionPos := v.s.HTTP.Version, v.s.HTTP.Pos
		proxied, proxyPos := v.s.HTTP.Proxy != "", v.s.HTTP.proxyPos
		ownVersion := false
		var own transport.TLSSettings
		pos := map[string]Pos{}
		for i := 0; i+1 < len(w.Content); i += 2 {
			switch w.Content[i].Value {
			case "version":
				// A template is checked when it is rendered, by the call.
				if x := deref(w.Content[i+1]); x.Kind == yaml.ScalarNode {
					version, versionPos = x.Value, v.d.pos(x)
					ownVersion = true
				}
			case "proxy":
				// "" (or null) goes direct; a template is a proxy.
				x := deref(w.Content[i+1])
				proxied = x.Kind == yaml.ScalarNode && x.Tag != "!!null" && x.Value != ""
				proxyPos = v.d.pos(w.Content[i])
			case "tls":
				sub := &decoder{file: v.d.file} // the value's own errors are the key check's
				t, p := sub.tls(w.Content[i+1], "tls")
				if len(sub.errs) > 0 {
					continue
				}
				own, pos = t, p
				merged := v.s.HTTP.TLS.Merge(t)
				files := maps.Clone(p)
				for k, sp := range v.s.HTTP.tlsPos {
					if _, own := files[k]; !own {
						files[k] = sp
					}
				}
				v.checkTLS(merged, files, v.d.pos(w.Content[i]))
			}
		}
		for k, sp := range v.s.HTTP.tlsPos {
			if _, ok := pos[k]; !ok {
				pos[k] = sp
			}
		}
		v.checkHTTP3(version, v.s.HTTP.TLS.Merge(own), pos, versionPos)
		if ownVersion && proxyPos == v.s.HTTP.proxyPos {
			proxyPos = versionPos // the action asked for HTTP/3 under the section's proxy
		}
		v.checkHTTP3Proxy(version, proxied, proxyPos)
	}
}

// checkHTTP3Proxy reports a proxy where HTTP/3 is asked for: ntx's
// proxies tunnel TCP, and QUIC would silently go direct. The error is
// at the proxy key (at).
func (v *validator) checkHTTP3Proxy(version string, proxied bool, at Pos) bool {
	if version != "3" || !proxied {
		return true
	}
	v.errorf(at, "proxy is set, and version \"3\" (HTTP/3 over QUIC) cannot go through an HTTP proxy (it tunnels TCP only): drop the proxy or ask for another version")
	return false
}

// httpWith checks what the with: of HTTP actions names outside the
// scenario, when it is written literally: each multipart file is read
// (inside the scenario's tree, as data and TLS files are) and a proxy
// must be http://HOST:PORT, each error at its own value.
func (v *validator) httpWith() {
	for _, a := range v.s.Actions {
		if a.Kind != catalog.HTTP || a.With == nil {
			continue
		}
		w := deref(a.With)
		if w.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(w.Content); i += 2 {
			val := deref(w.Content[i+1])
			switch w.Content[i].Value {
			case "proxy":
				if val.Kind == yaml.ScalarNode && val.Tag == "!!str" && !expr.HasTemplate(val.Value) {
					if _, err := transport.ParseProxy(val.Value); err != nil {
						v.errorf(v.d.pos(val), "%v", err)
					}
				}
			case "multipart":
				if val.Kind != yaml.MappingNode {
					continue
				}
				for j := 0; j+1 < len(val.Content); j += 2 {
					part := deref(val.Content[j+1])
					if part.Kind != yaml.MappingNode {
						continue
					}
					for k := 0; k+1 < len(part.Content); k += 2 {
						f := deref(part.Content[k+1])
						if part.Content[k].Value != "file" || f.Kind != yaml.ScalarNode || f.Tag != "!!str" || expr.HasTemplate(f.Value) {
							continue
						}
						if _, err := v.s.ReadFile(f.Value); err != nil {
							v.errorf(v.d.pos(f), "multipart %s: file %s: %v", val.Content[j].Value, f.Value, err)
						}
					}
				}
			}
		}
	}
}
