package target

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// viaProxy returns a client that sends everything through proxy.
func viaProxy(d *dialRecorder, tc *tls.Config, proxy string) *http.Client {
	c := client(d, tc, true, false, false)
	u, _ := url.Parse(proxy)
	c.Transport.(*http.Transport).Proxy = http.ProxyURL(u)
	return c
}

func TestProxyTunnelsAndForwards(t *testing.T) {
	srv := start(t, nil)
	d := &dialRecorder{from: "127.0.0.2"}
	c := viaProxy(d, &tls.Config{RootCAs: srv.CAPool()}, "http://"+srv.ProxyAddr())

	// http:// goes in absolute form; the target sees the proxy's address.
	resp, body := get(t, c, "http://"+srv.HTTPAddr()+"/ip")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != "127.0.0.1" {
		t.Errorf("forwarded: %d %q", resp.StatusCode, body)
	}
	// https:// goes through a CONNECT tunnel, to a name under ntx.test.
	https := "https://api.ntx.test:" + portOf(t, srv.HTTPSAddr())
	if resp, _ := get(t, c, https+"/health"); resp.StatusCode != 200 {
		t.Errorf("tunnelled: %d", resp.StatusCode)
	}
	proxied := only(t, srv, "proxy", 2)
	locals := d.locals()
	if proxied[0].Method != "GET" || proxied[0].Path != "http://"+srv.HTTPAddr()+"/ip" ||
		proxied[1].Method != "CONNECT" || proxied[1].Path != "api.ntx.test:"+portOf(t, srv.HTTPSAddr()) {
		t.Errorf("proxy recorded %+v", proxied)
	}
	for i, v := range proxied {
		if v.Source != "127.0.0.2" || v.Addr != locals[i] {
			t.Errorf("proxy request %d from %s, want %s", i, v.Addr, locals[i])
		}
	}
	if v := only(t, srv, "http", 2)[1]; v.SNI != "api.ntx.test" || v.Source != "127.0.0.1" {
		t.Errorf("the tunnelled request reached the target as %+v", v)
	}

	// Anything off loopback is refused.
	for _, u := range []string{"http://192.0.2.1/x", "https://example.com/"} {
		resp, err := c.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil && resp.StatusCode != http.StatusForbidden) || (err != nil && !strings.Contains(err.Error(), "Forbidden")) {
			t.Errorf("%s through the proxy: %v %v; want 403", u, resp, err)
		}
	}
}

func TestProxyAuth(t *testing.T) {
	cfg := EphemeralConfig()
	cfg.ProxyAuth = "pat:pw"
	srv := start(t, &cfg)
	d := &dialRecorder{}
	target := "http://" + srv.HTTPAddr() + "/health"
	if resp, _ := get(t, viaProxy(d, nil, "http://"+srv.ProxyAddr()), target); resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("no credentials: %d", resp.StatusCode)
	}
	if resp, _ := get(t, viaProxy(d, nil, "http://pat:wrong@"+srv.ProxyAddr()), target); resp.StatusCode != http.StatusProxyAuthRequired {
		t.Errorf("wrong credentials: %d", resp.StatusCode)
	}
	if resp, _ := get(t, viaProxy(d, nil, "http://pat:pw@"+srv.ProxyAddr()), target); resp.StatusCode != 200 {
		t.Errorf("right credentials: %d", resp.StatusCode)
	}
	if v := only(t, srv, "http", 1)[0]; v.Header.Get("Proxy-Authorization") != "" {
		t.Error("the proxy passed its credentials on")
	}
}
