package transport

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ProxyError is an HTTP proxy that would not open a tunnel: its answer
// to CONNECT was not 2xx. Counted under error kind proxy.
type ProxyError struct {
	Proxy  string // host:port
	Target string // host:port asked for
	Status string // the proxy's status line, "407 Proxy Authentication Required"
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("proxy %s refused the tunnel to %s: %s", e.Proxy, e.Target, e.Status)
}

// ParseProxy reads a proxy as scenarios write it:
// http://[USER:PASSWORD@]HOST:PORT. Its errors never show the password
// (they reach results and reports).
func ParseProxy(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the whole URL, password included: give only
		// what was wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("proxy %q is not a URL: %v", redactUserinfo(s), err)
	}
	if u.Scheme != "http" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("proxy %q is not http://HOST:PORT (an HTTP proxy, reached over plain TCP)", u.Redacted())
	}
	return u, nil
}

// redactUserinfo hides the user information of a URL that does not
// parse: everything between "://" and the last "@" of its authority.
func redactUserinfo(s string) string {
	rest, scheme := s, ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+3], s[i+3:]
	}
	end := len(rest)
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		end = i
	}
	if i := strings.LastIndex(rest[:end], "@"); i >= 0 {
		return scheme + "xxxxx" + rest[i:]
	}
	return s
}

// tunnels reports whether a request to key goes through a CONNECT
// tunnel of its proxy: https (TLS end to end) and h2c (prior knowledge
// is spoken to the destination). Other plain http:// requests are sent
// to the proxy in absolute form, as browsers and curl do, which every
// proxy accepts (many allow CONNECT only to port 443).
func (k destKey) tunnels() bool { return k.proxy != "" && (k.secure || k.version == Version2) }

// absoluteForm reports whether requests to key are written in absolute
// form to a proxy.
func (k destKey) absoluteForm() bool { return k.proxy != "" && !k.tunnels() }

// proxyAuth is the Proxy-Authorization of a proxy URL's user and
// password, "" without them.
func proxyAuth(proxy *url.URL) string {
	if proxy.User == nil {
		return ""
	}
	pass, _ := proxy.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(proxy.User.Username()+":"+pass))
}

// connectTunnel asks the proxy at the other end of c for a tunnel to
// target (host:port). The socket's deadline bounds it.
func connectTunnel(c net.Conn, target string, proxy *url.URL, userAgent string) error {
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\nUser-Agent: " + userAgent + "\r\n"
	if auth := proxyAuth(proxy); auth != "" {
		req += "Proxy-Authorization: " + auth + "\r\n"
	}
	if _, err := c.Write([]byte(req + "\r\n")); err != nil {
		return fmt.Errorf("proxy %s: CONNECT %s: %w", proxy.Host, target, err)
	}
	// The answer's header block is read through a limit: a proxy that
	// streams headers forever does not hold the user or its memory.
	lim := &io.LimitedReader{R: c, N: MaxHeaderBytes}
	br := readers.Get().(*bufio.Reader)
	br.Reset(lim)
	defer func() { br.Reset(nil); readers.Put(br) }()
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		if lim.N <= 0 {
			err = &TooLargeError{What: "proxy's answer to CONNECT", Limit: MaxHeaderBytes}
		}
		return fmt.Errorf("proxy %s: CONNECT %s: %w", proxy.Host, target, err)
	}
	if resp.StatusCode/100 != 2 {
		return &ProxyError{Proxy: proxy.Host, Target: target, Status: resp.Status}
	}
	if br.Buffered() > 0 {
		return &ProtocolError{fmt.Errorf("proxy %s sent bytes after its answer to CONNECT", proxy.Host)}
	}
	return nil
}
