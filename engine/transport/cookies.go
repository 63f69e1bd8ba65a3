package transport

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Cookies go through a Request's Jar around every exchange: the jar's
// cookies for the hop's URL are added before it is sent, and the
// Set-Cookie headers of its answer are stored after, redirect hops and
// retried attempts included, as a browser does. A request without a Jar
// neither sends nor keeps cookies, and a response without Set-Cookie
// costs only a scan of its header block.

// exchange sends h once (see attempt) with the jar's cookies, and keeps
// the cookies its answer sets.
func (s *Source) exchange(ctx context.Context, req *Request, h *hop, deadline time.Time, resp *Response) {
	h.cookie = ""
	if req.Jar != nil {
		h.cookie = cookieLine(h.header, req.Jar.Cookies(h.url))
	}
	s.attempt(ctx, req, h, deadline, resp)
	if req.Jar != nil && resp.Status != 0 {
		storeCookies(req.Jar, h.url, resp.RawHeader)
	}
}

// cookieLine is the Cookie header to send: the request's own Cookie
// header first, then the jar's cookies whose names it does not give (a
// cookie written by the script wins over the jar's of the same name).
// It is "" when the jar has none for the URL: the request's header is
// then sent as it is.
func cookieLine(header http.Header, jar []*http.Cookie) string {
	if len(jar) == 0 {
		return ""
	}
	own := header["Cookie"]
	var b strings.Builder
	for _, v := range own {
		if v = strings.TrimSpace(v); v != "" {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(v)
		}
	}
	for _, c := range jar {
		if len(own) > 0 && namesCookie(own, c.Name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.Name)
		b.WriteByte('=')
		b.WriteString(c.Value)
	}
	return b.String()
}

// namesCookie reports whether one of the Cookie header values vs has a
// pair named name.
func namesCookie(vs []string, name string) bool {
	for _, v := range vs {
		for _, pair := range strings.Split(v, ";") {
			n, _, _ := strings.Cut(pair, "=")
			if strings.TrimSpace(n) == name {
				return true
			}
		}
	}
	return false
}

// storeCookies gives the cookies of the Set-Cookie lines of a raw
// header block (the status line first) to jar, as set by u. The block
// is scanned in place: nothing is allocated when it sets none.
func storeCookies(jar http.CookieJar, u *url.URL, raw []byte) {
	var set []*http.Cookie
	rest := raw
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		rest = rest[i+1:] // the status line
	} else {
		return
	}
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		const name = "set-cookie:"
		if len(line) <= len(name) || !asciiEqualFoldBytes(line[:len(name)], name) {
			continue
		}
		c, err := http.ParseSetCookie(string(bytes.TrimSpace(line[len(name):])))
		if err != nil {
			continue // a browser ignores a Set-Cookie it cannot read
		}
		set = append(set, c)
	}
	if len(set) > 0 {
		jar.SetCookies(u, set)
	}
}

// asciiEqualFoldBytes reports whether b equals the lower-case ASCII
// string lower, ignoring case.
func asciiEqualFoldBytes(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
