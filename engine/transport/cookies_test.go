package transport

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
)

// TestStoreCookies: every Set-Cookie line of a header block is read,
// whatever the case of its name; one that cannot be parsed is skipped
// as a browser skips it; a header that only looks alike is not read.
func TestStoreCookies(t *testing.T) {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse("http://shop.ntx.test/login")
	raw := "HTTP/1.1 200 OK\r\n" +
		"Content-Type: text/plain\r\n" +
		"Set-Cookie: a=1; Path=/\r\n" +
		"set-cookie: b=2; Path=/; HttpOnly\r\n" +
		"SET-COOKIE:c=3\r\n" +
		"Set-Cookie: =nameless\r\n" +
		"Set-Cookie2: d=4\r\n" +
		"X-Set-Cookie: e=5\r\n" +
		"\r\n"
	storeCookies(jar, u, []byte(raw))
	got := map[string]string{}
	for _, c := range jar.Cookies(u) {
		got[c.Name] = c.Value
	}
	if len(got) != 3 || got["a"] != "1" || got["b"] != "2" || got["c"] != "3" {
		t.Errorf("the jar holds %v, want a=1 b=2 c=3", got)
	}
	if n := testing.AllocsPerRun(100, func() {
		storeCookies(jar, u, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"))
	}); n != 0 {
		t.Errorf("a header block without Set-Cookie cost %.0f allocations, want 0", n)
	}
}

// TestCookieLine: the request's own Cookie header goes first, and the
// jar's cookies follow unless the header already names them.
func TestCookieLine(t *testing.T) {
	jar := []*http.Cookie{{Name: "session", Value: "jar"}, {Name: "theme", Value: "dark"}}
	for _, c := range []struct {
		own  []string
		want string
	}{
		{nil, "session=jar; theme=dark"},
		{[]string{"session=mine"}, "session=mine; theme=dark"},
		{[]string{"a=1; session=mine", " b=2 "}, "a=1; session=mine; b=2; theme=dark"},
		{[]string{"sessionx=1"}, "sessionx=1; session=jar; theme=dark"},
	} {
		h := http.Header{}
		if c.own != nil {
			h["Cookie"] = c.own
		}
		if got := cookieLine(h, jar); got != c.want {
			t.Errorf("own %q: got %q, want %q", c.own, got, c.want)
		}
	}
	if got := cookieLine(http.Header{"Cookie": {"x=1"}}, nil); got != "" {
		t.Errorf("without the jar's cookies: %q, want \"\" (the header is sent as it is)", got)
	}
}
