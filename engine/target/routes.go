package target

import (
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// routes adds the endpoints for real-target features: redirects, cookies
// and the WebSocket echo.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("/redirect/", serveRedirect)
	mux.HandleFunc("/redirect-to", serveRedirectTo)
	mux.HandleFunc("/cookies", serveCookies)
	mux.HandleFunc("/cookies/set", serveCookiesSet)
	mux.HandleFunc("/cookies/delete", serveCookiesDelete)
	mux.HandleFunc("/cookies/set-with", serveCookieWith)
	mux.HandleFunc("/drip", serveDrip)
	mux.HandleFunc("/ws", s.serveWS)
	mux.HandleFunc("/gzip", serveGzip)
	mux.HandleFunc("/basic-auth/", serveBasicAuth)
	mux.HandleFunc("/bearer", serveBearer)
	mux.HandleFunc("/multipart", serveMultipart)
	shopRoutes(mux)
}

// serveGzip answers ?size=N bytes of text (default 4096) in a JSON
// object, gzip-encoded when the request accepts gzip: the wire size is
// then far below the decoded size. With ?corrupt=1 the gzip stream is
// broken, for a client's decoding errors.
func serveGzip(w http.ResponseWriter, r *http.Request) {
	size := 4096
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 64<<20 {
			http.Error(w, "size must be 0-67108864", http.StatusBadRequest)
			return
		}
		size = n
	}
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	body, _ := json.Marshal(map[string]any{"gzipped": gz, "data": strings.Repeat("a", size)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Vary", "Accept-Encoding")
	if !gz {
		_, _ = w.Write(body)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	if r.URL.Query().Get("corrupt") != "" {
		// A gzip header, then bytes that are not deflate data.
		_, _ = w.Write([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffthis is not deflate data"))
		return
	}
	zw := gzip.NewWriter(w)
	_, _ = zw.Write(body)
	_ = zw.Close()
}

// acceptsGzip reads an Accept-Encoding header: gzip listed, not with q=0.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// serveBasicAuth answers /basic-auth/USER/PASSWORD: 200 when the request
// carries those credentials by Basic auth, else 401 with a challenge.
func serveBasicAuth(w http.ResponseWriter, r *http.Request) {
	want := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/basic-auth/"), "/", 2)
	if len(want) != 2 || want[0] == "" {
		http.Error(w, "want /basic-auth/USER/PASSWORD", http.StatusBadRequest)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != want[0] || pass != want[1] {
		w.Header().Set("WWW-Authenticate", `Basic realm="ntx"`)
		jsonReply(w, http.StatusUnauthorized, map[string]any{"authenticated": false})
		return
	}
	jsonReply(w, 200, map[string]any{"authenticated": true, "user": user})
}

// serveBearer answers 200 to a request with a bearer token (?token=T
// requires that one), else 401 with a challenge.
func serveBearer(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if want := r.URL.Query().Get("token"); !ok || token == "" || (want != "" && token != want) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ntx"`)
		jsonReply(w, http.StatusUnauthorized, map[string]any{"authenticated": false})
		return
	}
	jsonReply(w, 200, map[string]any{"authenticated": true, "token": token})
}

// serveMultipart parses a multipart/form-data body and answers what it
// held: each field's value, and each file's name, type and size.
func serveMultipart(w http.ResponseWriter, r *http.Request) {
	// r.Body is the copy read for the record: its first MiB.
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		http.Error(w, "want a multipart/form-data body: "+err.Error(), http.StatusBadRequest)
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	fields := map[string]string{}
	for k, v := range r.MultipartForm.Value {
		fields[k] = strings.Join(v, ",")
	}
	files := map[string]any{}
	for k, fhs := range r.MultipartForm.File {
		fh := fhs[0]
		files[k] = map[string]any{"filename": fh.Filename, "content_type": fh.Header.Get("Content-Type"), "size": fh.Size}
	}
	jsonReply(w, 200, map[string]any{"fields": fields, "files": files})
}

func jsonReply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// redirectCode reads ?code= (default 302).
func redirectCode(r *http.Request) (int, error) {
	c := r.URL.Query().Get("code")
	if c == "" {
		return http.StatusFound, nil
	}
	switch n, _ := strconv.Atoi(c); n {
	case 301, 302, 303, 307, 308:
		return n, nil
	}
	return 0, fmt.Errorf("code must be 301, 302, 303, 307 or 308")
}

// serveRedirect answers /redirect/N with a redirect to /redirect/N-1
// (keeping the query), and /redirect/0 with 200: N hops, then 200.
func serveRedirect(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/redirect/"))
	if err != nil || n < 0 || n > 1000 {
		http.Error(w, "hops must be 0-1000", http.StatusBadRequest)
		return
	}
	code, err := redirectCode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n == 0 {
		jsonReply(w, 200, map[string]any{"redirected": true, "method": r.Method})
		return
	}
	loc := "/redirect/" + strconv.Itoa(n-1)
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(code)
}

// serveRedirectTo answers /redirect-to?url=URL with a redirect to URL
// (another host or scheme, for cookie and TLS tests).
func serveRedirectTo(w http.ResponseWriter, r *http.Request) {
	to := r.URL.Query().Get("url")
	if _, err := url.Parse(to); err != nil || to == "" {
		http.Error(w, "url= must be a URL", http.StatusBadRequest)
		return
	}
	code, err := redirectCode(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Location", to)
	w.WriteHeader(code)
}

// serveCookies echoes the cookies the request carried.
func serveCookies(w http.ResponseWriter, r *http.Request) {
	jsonReply(w, 200, map[string]any{"cookies": cookieMap(r.Header)})
}

// serveCookiesSet sets a cookie (Path=/) for each query parameter and
// answers with the cookies it set.
func serveCookiesSet(w http.ResponseWriter, r *http.Request) {
	set := map[string]string{}
	for _, name := range sortedKeys(r.URL.Query()) {
		c := &http.Cookie{Name: name, Value: r.URL.Query().Get(name), Path: "/"}
		if c.Valid() != nil {
			http.Error(w, fmt.Sprintf("cookie %q: %v", name, c.Valid()), http.StatusBadRequest)
			return
		}
		http.SetCookie(w, c)
		set[name] = c.Value
	}
	jsonReply(w, 200, map[string]any{"set": set})
}

// serveCookieWith sets one cookie with the attributes the query gives:
// name, value, path (default /), domain, max_age (seconds), secure, http_only and
// same_site (lax, strict or none), for testing a client's cookie jar;
// with redirect=URL it answers 302 to URL instead of 200.
func serveCookieWith(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := &http.Cookie{Name: q.Get("name"), Value: q.Get("value"), Path: q.Get("path"), Domain: q.Get("domain")}
	if c.Path == "" {
		c.Path = "/"
	}
	if v := q.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			http.Error(w, "max_age must be whole seconds", http.StatusBadRequest)
			return
		}
		c.MaxAge = n
		if n <= 0 {
			c.MaxAge = -1 // "Max-Age=0": delete now
		}
	}
	c.Secure, _ = strconv.ParseBool(q.Get("secure"))
	c.HttpOnly, _ = strconv.ParseBool(q.Get("http_only"))
	switch strings.ToLower(q.Get("same_site")) {
	case "":
	case "lax":
		c.SameSite = http.SameSiteLaxMode
	case "strict":
		c.SameSite = http.SameSiteStrictMode
	case "none":
		c.SameSite = http.SameSiteNoneMode
	default:
		http.Error(w, "same_site must be lax, strict or none", http.StatusBadRequest)
		return
	}
	if err := c.Valid(); err != nil || c.Name == "" {
		http.Error(w, fmt.Sprintf("cookie: %v (name= is required)", err), http.StatusBadRequest)
		return
	}
	http.SetCookie(w, c)
	if to := q.Get("redirect"); to != "" {
		// The cookie comes with a redirect: a client's jar must keep it
		// from the hop and send it on the next.
		w.Header().Set("Location", to)
		w.WriteHeader(http.StatusFound)
		return
	}
	jsonReply(w, 200, map[string]any{"set": c.String()})
}

// serveDrip sends its headers at once, then ?bytes=N bytes (default 10)
// spread evenly over ?duration=MS (default 1000): time to first byte is
// short and the body takes the duration, for a client's receive timing.
func serveDrip(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, ms := 10, 1000
	var err error
	if v := q.Get("bytes"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 10<<20 {
			http.Error(w, "bytes must be 1-10485760", http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("duration"); v != "" {
		if ms, err = strconv.Atoi(v); err != nil || ms < 0 || ms > 600_000 {
			http.Error(w, "duration must be 0-600000 ms", http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	// At most 100 writes, so that a large body is not a syscall a byte.
	steps := min(n, 100)
	pause := time.Duration(ms) * time.Millisecond / time.Duration(steps)
	sent := 0
	for i := 1; i <= steps; i++ {
		select {
		case <-time.After(pause):
		case <-r.Context().Done():
			return
		}
		upto := n * i / steps
		if _, err := w.Write([]byte(strings.Repeat("*", upto-sent))); err != nil {
			return
		}
		sent = upto
		_ = rc.Flush()
	}
}

// serveCookiesDelete expires the cookies named in the query.
func serveCookiesDelete(w http.ResponseWriter, r *http.Request) {
	names := sortedKeys(r.URL.Query())
	for _, name := range names {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0)})
	}
	jsonReply(w, 200, map[string]any{"deleted": names})
}

func sortedKeys(v url.Values) []string {
	var ks []string
	for k := range v {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// cookieMap returns the cookies in a request header by name.
func cookieMap(h http.Header) map[string]string {
	m := map[string]string{}
	for _, c := range (&http.Request{Header: h}).Cookies() {
		m[c.Name] = c.Value
	}
	return m
}

// Cookies returns the cookies the request carried, by name.
func (v Seen) Cookies() map[string]string { return cookieMap(v.Header) }

// serveWS echoes every WebSocket message back with its type, recording
// each one as Seen{Proto: "ws"}. It needs HTTP/1.1 (an upgrade); over
// HTTP/2 or HTTP/3 it answers an error.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	// Any subprotocol the client offers is accepted (its first).
	var protos []string
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			protos = append(protos, strings.TrimSpace(p))
		}
	}
	if name, value, ok := strings.Cut(r.URL.Query().Get("set_cookie"), "="); ok {
		http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/"}) // goes out with the 101
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, Subprotocols: protos})
	if err != nil {
		return // Accept has answered the request
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := r.Context()
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != -1 {
				_ = c.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		v := seenOf(r, msg)
		v.Proto, v.Method, v.Header = "ws", "text", nil
		if typ == websocket.MessageBinary {
			v.Method = "binary"
		}
		s.record(v)
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}

// seenOf records an HTTP request: its version, the flow's source
// address and, over TLS, what the handshake settled.
func seenOf(r *http.Request, body []byte) Seen {
	v := Seen{Proto: "http", Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Source: hostOf(r.RemoteAddr), Addr: r.RemoteAddr, Body: string(body), Header: r.Header.Clone(),
		Version: r.Proto, Network: "tcp"}
	if r.ProtoMajor == 3 {
		v.Network = "udp"
	}
	if r.TLS != nil {
		addTLS(&v, r.TLS)
	}
	return v
}

func addTLS(v *Seen, cs *tls.ConnectionState) {
	v.SNI = cs.ServerName
	v.TLSVersion = versionName(cs.Version)
	v.ALPN = cs.NegotiatedProtocol
	v.Cipher = tls.CipherSuiteName(cs.CipherSuite)
	if cs.CurveID != 0 {
		v.Curve = cs.CurveID.String()
	}
	v.Resumed = cs.DidResume
	if len(cs.PeerCertificates) > 0 {
		v.ClientCert = cs.PeerCertificates[0].Subject.String()
	}
}
