package stdlib

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sort"
	"time"

	"go.starlark.net/starlark"
	"golang.org/x/net/publicsuffix"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// CookieMode says which jar an HTTP call sends cookies from and keeps
// them in (http.cookies, spec §4.1).
type CookieMode uint8

// The cookie modes. The zero value is CookiesUser, the default.
const (
	// CookiesUser is the user's jar, kept across its iterations.
	CookiesUser CookieMode = iota
	// CookiesIteration is a jar emptied when each iteration begins.
	CookiesIteration
	// CookiesOff neither sends nor keeps cookies.
	CookiesOff
)

// ParseCookieMode reads "user", "iteration" or "off".
func ParseCookieMode(s string) (CookieMode, error) {
	switch s {
	case catalog.CookiesUser, "":
		return CookiesUser, nil
	case catalog.CookiesIteration:
		return CookiesIteration, nil
	case catalog.CookiesOff:
		return CookiesOff, nil
	}
	return CookiesUser, fmt.Errorf("cookies must be one of %v, not %q", catalog.CookieModes, s)
}

// lazyJar is a cookie jar made when the first cookie is stored in it: a
// user that is never sent a cookie costs no jar. A user's calls run one
// at a time on its own thread, so making it needs no lock; the jar
// itself is safe for concurrent use.
type lazyJar struct{ jar *cookiejar.Jar }

// newJar makes an RFC 6265 jar. The public suffix list keeps a server
// from setting a cookie for a whole suffix such as co.uk; addresses and
// names the list does not know (localhost, *.test) get host-only or
// domain cookies as their labels allow.
func newJar() *cookiejar.Jar {
	j, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List}) // never fails
	return j
}

// Cookies implements http.CookieJar.
func (l *lazyJar) Cookies(u *url.URL) []*http.Cookie {
	if l.jar == nil {
		return nil
	}
	return l.jar.Cookies(u)
}

// SetCookies implements http.CookieJar.
func (l *lazyJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if l.jar == nil {
		l.jar = newJar()
	}
	l.jar.SetCookies(u, cookies)
}

// jars are a user's cookie jars: the one kept for its life, and the one
// of the current iteration.
type jars struct {
	user, iteration lazyJar
}

// jar returns the jar mode uses, nil for CookiesOff.
func (s *Session) jar(mode CookieMode) *lazyJar {
	switch mode {
	case CookiesUser:
		return &s.jars.user
	case CookiesIteration:
		return &s.jars.iteration
	}
	return nil
}

// BeginIteration empties the iteration's cookie jar (http.cookies:
// iteration); the runtime calls it before each iteration of the user.
func (s *Session) BeginIteration() { s.jars.iteration.jar = nil }

// scriptJar is the jar `user.cookies` reads and writes: the one the
// http: section's mode uses, and the user's jar when cookies are off
// (calls that say cookies = "user" use it).
func (s *Session) scriptJar() *lazyJar {
	mode := CookiesUser
	if s.HTTP != nil {
		mode = s.HTTP.Cookies
	}
	if mode == CookiesIteration {
		return &s.jars.iteration
	}
	return &s.jars.user
}

// cookiesArg reads a call's cookies argument; None keeps def.
func cookiesArg(fn string, v starlark.Value, def CookieMode) (CookieMode, error) {
	if v == nil || v == starlark.None {
		return def, nil
	}
	s, ok := starlark.AsString(v)
	if !ok {
		return def, fmt.Errorf("%s: cookies must be one of %v, not %s", fn, catalog.CookieModes, v.Type())
	}
	m, err := ParseCookieMode(s)
	if err != nil {
		return def, fmt.Errorf("%s: %v", fn, err)
	}
	return m, nil
}

// Cookies is the `user.cookies` value: the user's cookie jar, read and
// written through its methods get, set and clear. It holds nothing
// itself: the methods find the user's session in the calling thread.
type Cookies struct{}

var cookiesValue = Cookies{}

var (
	_ starlark.HasAttrs = Cookies{}

	cookieMethods = map[string]*starlark.Builtin{
		"get":   starlark.NewBuiltin("user.cookies.get", cookiesGet),
		"set":   starlark.NewBuiltin("user.cookies.set", cookiesSet),
		"clear": starlark.NewBuiltin("user.cookies.clear", cookiesClear),
	}
)

func (Cookies) String() string        { return "<user.cookies>" }
func (Cookies) Type() string          { return "cookies" }
func (Cookies) Freeze()               {}
func (Cookies) Truth() starlark.Bool  { return true }
func (Cookies) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: cookies") }

// Attr implements starlark.HasAttrs.
func (Cookies) Attr(name string) (starlark.Value, error) {
	if b, ok := cookieMethods[name]; ok {
		return b, nil
	}
	return nil, nil
}

// AttrNames implements starlark.HasAttrs.
func (Cookies) AttrNames() []string { return []string{"clear", "get", "set"} }

// cookieURL reads the url argument of a user.cookies method.
func cookieURL(fn string, v starlark.Value) (*url.URL, error) {
	s, ok := starlark.AsString(v)
	if !ok {
		return nil, fmt.Errorf("%s: url must be a string, not %s", fn, v.Type())
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !catalog.HTTP.AcceptsScheme(u.Scheme) {
		return nil, fmt.Errorf("%s: url %q is not an absolute http(s) URL", fn, s)
	}
	return u, nil
}

// cookiesGet is user.cookies.get(url): the cookies a request to url
// would send, as a dict name -> value.
func cookiesGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var raw starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &raw); err != nil {
		return nil, err
	}
	u, err := cookieURL(b.Name(), raw)
	if err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	cs := sess.scriptJar().Cookies(u)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	d := starlark.NewDict(len(cs))
	for _, c := range cs {
		// The jar gives the most specific path first: that one wins a
		// name given twice, as a server reading the header would take it.
		if _, found, _ := d.Get(starlark.String(c.Name)); !found {
			_ = d.SetKey(starlark.String(c.Name), starlark.String(c.Value))
		}
	}
	return d, nil
}

// cookiesSet is user.cookies.set(url, name, value, path, domain, secure,
// http_only, max_age): stores a cookie as if a response from url had
// set it, under the same rules.
func cookiesSet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var rawURL, maxAge starlark.Value
	var name, value, path, domain string
	var secure, httpOnly bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &rawURL, "name", &name, "value", &value,
		"path?", &path, "domain?", &domain, "secure?", &secure, "http_only?", &httpOnly, "max_age?", &maxAge); err != nil {
		return nil, err
	}
	u, err := cookieURL(b.Name(), rawURL)
	if err != nil {
		return nil, err
	}
	c := &http.Cookie{Name: name, Value: value, Path: path, Domain: domain, Secure: secure, HttpOnly: httpOnly}
	if maxAge != nil && maxAge != starlark.None {
		d, err := durationArg(b.Name(), "max_age", maxAge, 0)
		if err != nil {
			return nil, err
		}
		// As a Set-Cookie's Max-Age: zero or less deletes the cookie.
		c.MaxAge = int(d / time.Second)
		if c.MaxAge <= 0 {
			c.MaxAge = -1
		}
	}
	if err := c.Valid(); err != nil || name == "" {
		if err == nil {
			err = fmt.Errorf("a name is required")
		}
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	sess.scriptJar().SetCookies(u, []*http.Cookie{c})
	return starlark.None, nil
}

// cookiesClear is user.cookies.clear(): empties the jar.
func cookiesClear(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	sess.scriptJar().jar = nil
	return starlark.None, nil
}
