package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// keysTarget is a TLS target with its proxy on, asking for proxyAuth
// ("user:password") when given, and the file a multipart part sends.
func keysTarget(t *testing.T, dir, proxyAuth string) *target.Server {
	t.Helper()
	srv := tlsTarget(t, dir, func(c *target.Config) { c.Proxy, c.ProxyAuth = "127.0.0.1:0", proxyAuth })
	writeFile(t, dir, "files/doc.txt", "the document, 31 bytes of text\n")
	return srv
}

// TestHTTPKeysYAML: auth (basic and bearer), multipart (a field and a
// file), compression (gzip decoded for exports, bytes_received the wire
// size, a corrupt body of kind decode) and proxy (absolute form for
// http://, CONNECT for https://, with the proxy's credentials), each
// against the real target.
func TestHTTPKeysYAML(t *testing.T) {
	dir := t.TempDir()
	srv := keysTarget(t, dir, "px:pw")
	h, s, p := srv.HTTPAddr(), srv.HTTPSAddr(), srv.ProxyAddr()
	file := writeFile(t, dir, "keys.yaml", `
name: keys
http:
  tls: {ca: certs/ca.pem}
load:
  ramp_up: {phases: [{spawn_users: 1}]}
  user_lifetime: {mode: loop, iterations: 2}
actions:
  - id: basic
    call: get
    with: {url: "http://`+h+`/basic-auth/ann/s3cret", auth: {basic: [ann, s3cret]}}
    export: [{type: assert, name: user, equals: ann}]
  - id: basic-wrong
    call: get
    with: {url: "http://`+h+`/basic-auth/ann/other", auth: {basic: [ann, s3cret]}, expect_status: 401}
  - id: bearer
    call: get
    with: {url: "http://`+h+`/bearer?token=tok-{{user.id}}", auth: {bearer: "tok-{{user.id}}"}}
    export: [{type: assert, name: token, equals: "tok-{{user.id}}"}]
  - id: upload
    call: post
    with:
      url: "http://`+h+`/multipart"
      multipart: {note: "hi {{user.id}}", doc: {file: files/doc.txt, content_type: text/plain}}
    export:
      - {type: assert, name: note, path: fields.note, equals: "hi {{user.id}}"}
      - {type: assert, name: size, path: files.doc.size, equals: 31}
      - {type: assert, name: fname, path: files.doc.filename, equals: doc.txt}
      - {type: assert, name: ctype, path: files.doc.content_type, equals: text/plain}
  - id: gz
    call: get
    with: {url: "http://`+h+`/gzip?size=20000", compression: gzip}
    export: [{type: assert, name: gzipped, equals: true}, {type: content, name: data}]
  - id: identity
    call: get
    with: {url: "http://`+h+`/gzip?size=20000"}
    export: [{type: assert, name: gzipped, equals: false}]
  - id: corrupt
    call: get
    with: {url: "http://`+h+`/gzip?corrupt=1", compression: gzip}
  - id: gz2
    call: get
    with: {url: "https://`+s+`/gzip?size=20000", compression: gzip, version: "2"}
    export: [{type: assert, name: gzipped, equals: true}]
  - id: forward
    call: get
    with: {url: "http://`+h+`/ip?via=forward", proxy: "http://px:pw@`+p+`"}
  - id: tunnel
    call: get
    with: {url: "https://`+s+`/ip?via=tunnel", proxy: "http://px:pw@`+p+`"}
  - id: refused
    call: get
    with: {url: "https://`+s+`/ip?via=refused", proxy: "http://px:wrong@`+p+`"}
tasks:
  - {id: start, action: basic, next: [{task: t2}]}
  - {id: t2, action: basic-wrong, next: [{task: t3}]}
  - {id: t3, action: bearer, next: [{task: t4}]}
  - {id: t4, action: upload, next: [{task: t5}]}
  - {id: t5, action: gz, next: [{task: t6, when: "{{gz.data != None and len(gz.data) == 20000}}"}]}
  - {id: t6, action: identity, next: [{task: t7}]}
  - {id: t7, action: corrupt, next: [{task: t8}]}
  - {id: t8, action: gz2, next: [{task: t9}]}
  - {id: t9, action: forward, next: [{task: t10}]}
  - {id: t10, action: tunnel, next: [{task: t11}]}
  - {id: t11, action: refused}
`)
	res := runFile(t, file, nil)
	for _, id := range []string{"basic", "basic-wrong", "bearer", "upload", "gz", "identity", "gz2", "forward", "tunnel"} {
		if a := res.Actions[id]; a == nil || a.OK != 2 {
			t.Errorf("%s = %+v, want 2 ok (errors %v)", id, a, res.Errors)
		}
	}
	if a := res.Actions["corrupt"]; a == nil || a.Errors["decode"] != 2 {
		t.Errorf("corrupt = %+v, want 2 errors of kind decode", a)
	}
	if a := res.Actions["refused"]; a == nil || a.Errors["proxy"] != 2 {
		t.Errorf("refused = %+v, want 2 errors of kind proxy (errors %v)", a, res.Errors)
	} else if msg := res.Errors["refused proxy"]; !strings.Contains(msg, "407") {
		t.Errorf("refused: the error says %q, want the proxy's 407", msg)
	}
	// bytes_received is what crossed the socket: the gzipped answer is
	// far smaller than the 20,000 bytes it decodes to.
	if gz, id := res.Actions["gz"].BytesReceived, res.Actions["identity"].BytesReceived; gz*10 > id || id < 2*20000 {
		t.Errorf("bytes received: %d gzipped, %d identity; want the gzipped ones on the wire", gz, id)
	}

	settle(srv)
	var proxied []string
	for _, v := range srv.Seen() {
		switch {
		case v.Proto == "proxy":
			if v.Header.Get("Proxy-Authorization") == "" {
				t.Errorf("the proxy saw %s %s without credentials", v.Method, v.Path)
			}
			proxied = append(proxied, v.Method+" "+v.Path)
		case v.Path == "/gzip" && v.Query == "size=20000":
			if v.Header.Get("Accept-Encoding") != "gzip" && v.Version != "HTTP/1.1" && v.Version != "HTTP/2.0" {
				t.Errorf("%s /gzip: Accept-Encoding %q", v.Version, v.Header.Get("Accept-Encoding"))
			}
		case v.Path == "/multipart":
			if !strings.HasPrefix(v.Header.Get("Content-Type"), "multipart/form-data; boundary=") || !strings.Contains(v.Body, "the document, 31 bytes") {
				t.Errorf("/multipart: Content-Type %q, body %q", v.Header.Get("Content-Type"), v.Body)
			}
		}
	}
	got := strings.Join(proxied, "\n")
	for _, want := range []string{"GET http://" + h + "/ip?via=forward", "CONNECT " + s} {
		if !strings.Contains(got, want) {
			t.Errorf("the proxy saw:\n%s\nwant %s", got, want)
		}
	}
	// Forwarded requests reuse their proxy connection; tunnelled https
	// ones reuse their tunnel: one CONNECT for the 2 tunnel calls, one
	// for each refused call.
	if n := strings.Count(got, "CONNECT "+s); n != 3 {
		t.Errorf("the proxy saw %d CONNECTs to %s, want 3 (1 kept-alive tunnel, 2 refused):\n%s", n, s, got)
	}
	if n := len(seenAt(srv, "/ip", "via=tunnel")); n != 2 {
		t.Errorf("the target saw %d tunnelled requests, want 2", n)
	}
}

// TestHTTPKeysStarlark: the same keys as keyword arguments of a .star
// call, and compression and proxy from the scenario dict's http
// section, which a call overrides.
func TestHTTPKeysStarlark(t *testing.T) {
	dir := t.TempDir()
	srv := keysTarget(t, dir, "")
	t.Setenv("NTX_TEST_HTTP", srv.HTTPAddr())
	t.Setenv("NTX_TEST_PROXY", srv.ProxyAddr())
	file := writeFile(t, dir, "keys.star", `
scenario = {"name": "keys", "http": {"compression": "gzip", "proxy": "http://" + env.NTX_TEST_PROXY}}
H = "http://" + env.NTX_TEST_HTTP

def flow(user):
    r = http.get(H + "/basic-auth/bo/pw", auth = {"basic": ("bo", "pw")}, name = "basic")
    check(r.ok and r.json()["user"] == "bo", "basic: " + str(r.status_code))
    r = http.get(H + "/bearer", auth = {"bearer": "t1"}, name = "bearer")
    check(r.ok and r.json()["token"] == "t1", "bearer: " + str(r.status_code))
    r = http.post(H + "/multipart", multipart = {"a": "1", "doc": {"file": "files/doc.txt"}}, name = "upload")
    check(r.ok and r.json()["fields"]["a"] == "1" and r.json()["files"]["doc"]["size"] == 31 and
          r.json()["files"]["doc"]["content_type"] == "application/octet-stream", "multipart: " + str(r.body))
    r = http.get(H + "/gzip?size=3000", name = "gz")
    check(r.ok and r.json()["gzipped"] and len(r.json()["data"]) == 3000, "section gzip: " + str(r.error))
    r = http.get(H + "/gzip?size=3000", compression = "none", name = "identity")
    check(r.ok and not r.json()["gzipped"], "compression none over the section's gzip")
    r = http.get(H + "/gzip?corrupt=1", name = "corrupt")
    check(not r.ok and "gzip" in r.error, "corrupt: " + str(r.error))
`)
	res := runFile(t, file, nil)
	for name, c := range res.Checks {
		if c.Failed != 0 || c.Passed != 1 {
			t.Errorf("check %q: %+v (errors %v)", name, c, res.Errors)
		}
	}
	if len(res.Checks) != 6 {
		t.Errorf("%d checks ran, want 6 (errors %v)", len(res.Checks), res.Errors)
	}
	if a := res.Actions["corrupt"]; a == nil || a.Errors["decode"] != 1 {
		t.Errorf("corrupt = %+v, want an error of kind decode", a)
	}
	// Every call went through the section's proxy, in absolute form.
	settle(srv)
	n := 0
	for _, v := range srv.Seen() {
		if v.Proto == "proxy" {
			n++
			if v.Method == "CONNECT" || !strings.HasPrefix(v.Path, "http://"+srv.HTTPAddr()+"/") {
				t.Errorf("the proxy saw %s %s", v.Method, v.Path)
			}
		}
	}
	if n != 6 {
		t.Errorf("the proxy saw %d requests, want 6", n)
	}
}

// TestHTTPKeysCheckedAtLoad: a multipart file that is missing or outside
// the scenario's directory, a proxy that is not http://HOST:PORT, and an
// auth of the wrong shape are input errors at their own position.
func TestHTTPKeysCheckedAtLoad(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "outside.txt", "x")
	file := writeFile(t, dir, "sub/bad.yaml", `name: bad
http: {proxy: "socks5://127.0.0.1:1080"}
actions:
  - id: a
    call: post
    with:
      url: "http://127.0.0.1:1/"
      multipart: {f: {file: missing.txt}, g: {file: ../outside.txt}}
      proxy: "https://127.0.0.1:3128"
      auth: {basic: [a, b], bearer: t}
tasks: [{id: s, action: a}]
`)
	_, err := engine.Run(context.Background(), file, nil, engine.Options{Options: runOpts()})
	if err == nil {
		t.Fatal("the scenario ran")
	}
	msg := err.Error()
	for _, want := range []string{
		"bad.yaml:2:15: http.proxy \"socks5://127.0.0.1:1080\" is not http://HOST:PORT",
		"bad.yaml:8:29: multipart f: file missing.txt: no such file",
		"bad.yaml:8:53: multipart g: file ../outside.txt: leads outside the scenario's directory",
		"bad.yaml:9:14: proxy \"https://127.0.0.1:3128\" is not http://HOST:PORT",
		"bad.yaml:10:13: auth takes one of basic",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the errors lack %q:\n%s", want, msg)
		}
	}
}
