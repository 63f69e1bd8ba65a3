package target

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestRedirectN(t *testing.T) {
	srv := start(t, nil)
	d := &dialRecorder{}
	c := client(d, nil, true, false, false)
	var hops []string
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.Path+" "+req.Method)
		return nil
	}
	resp, body := get(t, c, "http://"+srv.HTTPAddr()+"/redirect/3")
	if resp.StatusCode != 200 || !strings.Contains(body, `"redirected":true`) ||
		strings.Join(hops, ",") != "/redirect/2 GET,/redirect/1 GET,/redirect/0 GET" {
		t.Fatalf("status %d body %q hops %v", resp.StatusCode, body, hops)
	}
	if n := len(only(t, srv, "http", 4)); n != 4 {
		t.Fatal(n)
	}

	// 307 keeps the method and body on every hop.
	hops = nil
	resp, err := c.Post("http://"+srv.HTTPAddr()+"/redirect/2?code=307", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Join(hops, ",") != "/redirect/1 POST,/redirect/0 POST" {
		t.Fatalf("307: status %d hops %v", resp.StatusCode, hops)
	}

	// Without following: the 3xx itself, with its Location.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ = get(t, c, "http://"+srv.HTTPAddr()+"/redirect/1?code=308")
	if resp.StatusCode != 308 || resp.Header.Get("Location") != "/redirect/0?code=308" {
		t.Errorf("no follow: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	to := "https://www.ntx.test/x"
	resp, _ = get(t, c, "http://"+srv.HTTPAddr()+"/redirect-to?url="+url.QueryEscape(to))
	if resp.StatusCode != 302 || resp.Header.Get("Location") != to {
		t.Errorf("redirect-to: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, bad := range []string{"/redirect/x", "/redirect/-1", "/redirect/1?code=200", "/redirect-to"} {
		if resp, _ := get(t, c, "http://"+srv.HTTPAddr()+bad); resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestCookies(t *testing.T) {
	srv := start(t, nil)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := client(&dialRecorder{}, nil, true, false, false)
	c.Jar = jar
	base := "http://" + srv.HTTPAddr()
	resp, body := get(t, c, base+"/cookies/set?session=abc&theme=dark")
	if len(resp.Cookies()) != 2 || !strings.Contains(body, `"session":"abc"`) {
		t.Fatalf("set: cookies %v body %q", resp.Cookies(), body)
	}
	_, body = get(t, c, base+"/cookies")
	var echoed struct{ Cookies map[string]string }
	if err := json.Unmarshal([]byte(body), &echoed); err != nil {
		t.Fatal(err)
	}
	if echoed.Cookies["session"] != "abc" || echoed.Cookies["theme"] != "dark" || len(echoed.Cookies) != 2 {
		t.Errorf("echoed %v", echoed.Cookies)
	}
	get(t, c, base+"/cookies/delete?theme")
	get(t, c, base+"/health")
	seen := only(t, srv, "http", 4)
	if got := seen[0].Cookies(); len(got) != 0 {
		t.Errorf("first request carried %v", got)
	}
	if got := seen[1].Cookies(); got["session"] != "abc" || got["theme"] != "dark" {
		t.Errorf("second request carried %v", got)
	}
	if got := seen[3].Cookies(); got["session"] != "abc" || len(got) != 1 {
		t.Errorf("after delete the request carried %v", got)
	}
	if resp, _ := get(t, c, base+"/cookies/set?bad%3Bname=1"); resp.StatusCode != 400 {
		t.Errorf("an invalid cookie name: status %d", resp.StatusCode)
	}
}

func TestWebSocketEcho(t *testing.T) {
	srv := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := &dialRecorder{from: "127.0.0.2"}
	wss := client(d, &tls.Config{RootCAs: srv.CAPool()}, true, false, false)
	for _, u := range []string{"ws://" + srv.HTTPAddr() + "/ws", "wss://localhost:" + portOf(t, srv.HTTPSAddr()) + "/ws"} {
		srv.Reset()
		c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: wss})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		for _, m := range []struct {
			typ  websocket.MessageType
			data string
		}{{websocket.MessageText, "hello"}, {websocket.MessageBinary, "\x00\x01"}} {
			if err := c.Write(ctx, m.typ, []byte(m.data)); err != nil {
				t.Fatal(err)
			}
			typ, got, err := c.Read(ctx)
			if err != nil || typ != m.typ || string(got) != m.data {
				t.Fatalf("%s: echo %v %q %v; want %v %q", u, typ, got, err, m.typ, m.data)
			}
		}
		if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
			t.Errorf("%s: close: %v", u, err)
		}
		locals := d.locals()
		upgrade := only(t, srv, "http", 1)[0]
		if upgrade.Path != "/ws" || upgrade.Addr != locals[len(locals)-1] {
			t.Errorf("%s: upgrade recorded as %+v", u, upgrade)
		}
		msgs := only(t, srv, "ws", 2)
		for i, want := range []struct{ method, body string }{{"text", "hello"}, {"binary", "\x00\x01"}} {
			v := msgs[i]
			if v.Method != want.method || v.Body != want.body || v.Addr != upgrade.Addr || v.SNI != upgrade.SNI {
				t.Errorf("%s: message %d recorded as %+v", u, i, v)
			}
		}
		if strings.HasPrefix(u, "wss:") && (msgs[0].SNI != "localhost" || msgs[0].TLSVersion != "1.3") {
			t.Errorf("wss message recorded without TLS: %+v", msgs[0])
		}
	}
}

func TestGzipAuthAndMultipart(t *testing.T) {
	srv := start(t, nil)
	base := "http://" + srv.HTTPAddr()
	c := client(&dialRecorder{}, nil, true, false, false)

	// Go's transport asks for gzip and decodes it: the body is the JSON.
	resp, body := get(t, c, base+"/gzip?size=10000")
	if !resp.Uncompressed || !strings.Contains(body, `"gzipped":true`) || len(body) < 10000 {
		t.Errorf("gzip: uncompressed %v, %d bytes", resp.Uncompressed, len(body))
	}
	// Asked for explicitly, the body stays encoded and is much smaller.
	req, _ := http.NewRequest("GET", base+"/gzip?size=10000", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	raw, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := readAll(raw)
	if raw.Header.Get("Content-Encoding") != "gzip" || len(wire) > 1000 {
		t.Errorf("gzip on the wire: %q, %d bytes", raw.Header.Get("Content-Encoding"), len(wire))
	}
	req.Header.Set("Accept-Encoding", "gzip;q=0, identity")
	plain, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := readAll(plain); plain.Header.Get("Content-Encoding") != "" || !strings.Contains(string(b), `"gzipped":false`) {
		t.Errorf("gzip;q=0: encoding %q", plain.Header.Get("Content-Encoding"))
	}

	for _, a := range []struct {
		path, user, pass, bearer string
		want                     int
	}{
		{"/basic-auth/ann/s3cret", "ann", "s3cret", "", 200},
		{"/basic-auth/ann/s3cret", "ann", "wrong", "", 401},
		{"/basic-auth/ann/s3cret", "", "", "", 401},
		{"/bearer", "", "", "tok", 200},
		{"/bearer?token=tok", "", "", "other", 401},
		{"/bearer", "", "", "", 401},
	} {
		req, _ := http.NewRequest("GET", base+a.path, nil)
		if a.user != "" {
			req.SetBasicAuth(a.user, a.pass)
		}
		if a.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+a.bearer)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(resp)
		if resp.StatusCode != a.want || (a.want == 401 && resp.Header.Get("WWW-Authenticate") == "") {
			t.Errorf("%s as %q/%q/%q: %d %q; want %d", a.path, a.user, a.pass, a.bearer, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), a.want)
		}
	}

	var buf strings.Builder
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("title", "report")
	fw, _ := mw.CreatePart(map[string][]string{
		"Content-Disposition": {`form-data; name="upload"; filename="data.csv"`}, "Content-Type": {"text/csv"}})
	_, _ = fw.Write([]byte("a,b\n1,2\n"))
	_ = mw.Close()
	resp, err = c.Post(base+"/multipart", mw.FormDataContentType(), strings.NewReader(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(resp)
	var form struct {
		Fields map[string]string
		Files  map[string]struct {
			Filename    string
			ContentType string `json:"content_type"`
			Size        int64
		}
	}
	if err := json.Unmarshal(got, &form); err != nil {
		t.Fatalf("multipart: %v in %s", err, got)
	}
	f := form.Files["upload"]
	if form.Fields["title"] != "report" || f.Size != 8 || f.ContentType != "text/csv" {
		t.Errorf("multipart: %s", got)
	}
	if resp, _ := c.Post(base+"/multipart", "text/plain", strings.NewReader("x")); resp.StatusCode != 400 {
		t.Errorf("multipart with a text body: %d", resp.StatusCode)
	}
}

func TestCookieAttributesAndDrip(t *testing.T) {
	srv := start(t, nil)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := client(&dialRecorder{}, nil, true, false, false)
	c.Jar = jar
	base := "http://" + srv.HTTPAddr()
	for _, set := range []struct{ query, header string }{
		{"name=scoped&value=1&path=/inner", "scoped=1; Path=/inner"},
		{"name=gone&value=1&max_age=0", "gone=1; Path=/; Max-Age=0"},
		{"name=kept&value=1&max_age=60&http_only=true&same_site=lax", "kept=1; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"},
		{"name=safe&value=1&domain=ntx.test&secure=true&same_site=none", "safe=1; Path=/; Domain=ntx.test; Secure; SameSite=None"},
	} {
		resp, body := get(t, c, base+"/cookies/set-with?"+set.query)
		if got := resp.Header.Get("Set-Cookie"); resp.StatusCode != 200 || got != set.header {
			t.Errorf("%s: %d %q (%s); want %q", set.query, resp.StatusCode, got, body, set.header)
		}
	}
	get(t, c, base+"/cookies")
	get(t, c, base+"/inner/x")
	seen := only(t, srv, "http", 6)
	// The jar drops the expired cookie and the one for another domain,
	// and sends the scoped one only under /inner.
	if got := seen[4].Cookies(); len(got) != 1 || got["kept"] != "1" {
		t.Errorf("/cookies carried %v; want kept only", got)
	}
	if got := seen[5].Cookies(); len(got) != 2 || got["kept"] != "1" || got["scoped"] != "1" {
		t.Errorf("/inner/x carried %v; want kept and scoped", got)
	}
	for _, bad := range []string{"value=1", "name=a&max_age=x", "name=a&same_site=odd"} {
		if resp, _ := get(t, c, base+"/cookies/set-with?"+bad); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", bad, resp.StatusCode)
		}
	}
	// redirect=URL: the cookie comes with a 302; the jar sends it on
	// the next hop.
	if resp, body := get(t, c, base+"/cookies/set-with?name=hop&value=1&redirect=/cookies"); resp.StatusCode != 200 ||
		resp.Request.URL.Path != "/cookies" || !strings.Contains(body, `"hop":"1"`) {
		t.Errorf("set-with redirect: %d at %s, %s; want /cookies to have received hop=1", resp.StatusCode, resp.Request.URL, body)
	}

	// /drip: the headers come at once, the body over the duration.
	began := time.Now()
	resp, err := c.Get(base + "/drip?bytes=10&duration=200")
	if err != nil {
		t.Fatal(err)
	}
	headers := time.Since(began)
	b, err := readAll(resp)
	body := time.Since(began)
	if err != nil || string(b) != "**********" || body < 200*time.Millisecond {
		t.Errorf("drip: %q %v after %v; want 10 bytes over 200ms", b, err, body)
	}
	if headers >= body {
		t.Errorf("drip: headers after %v, body after %v", headers, body)
	}
}

func TestWebSocketSubprotocol(t *testing.T) {
	srv := start(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+srv.HTTPAddr()+"/ws", &websocket.DialOptions{Subprotocols: []string{"chat.v2", "chat.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != "chat.v2" {
		t.Errorf("subprotocol %q, want chat.v2", c.Subprotocol())
	}
}
