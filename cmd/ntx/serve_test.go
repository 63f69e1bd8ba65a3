package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestServeHelpListsEveryEndpointAndPort(t *testing.T) {
	code, _, stderr := ntx(t, "serve", "--help")
	if code != exitPassed {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"/health", "/asset", "/status/CODE", "/delay/MS", "/ip", "/reset", "/garbage", "/redirect/N", "/redirect-to",
		"/cookies", "/cookies/set", "/cookies/delete", "/ws", "h2c", "HTTP/3", "ntx.test", "tc.*", "big.*", "_http._tcp",
		"127.0.0.1:18080", "127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18443", "127.0.0.1:18053",
		"--cert", "--key", "--client-ca", "--ca-out", "--tls-min", "--dot", "--proxy", "127.0.0.1:18853", "127.0.0.1:18088",
		"/gzip", "/basic-auth/USER/PASSWORD", "/bearer", "/multipart",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("ntx serve --help does not mention %s", want)
		}
	}
	if code, _, stderr := ntx(t, "serve", "--tls-min", "1.4"); code != exitInvalid || !strings.Contains(stderr, `TLS version "1.4"`) {
		t.Errorf("--tls-min 1.4: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := ntx(t, "serve", "--http", "", "--tcp", "", "--udp", "", "--dns", "", "--https", "127.0.0.1:0",
		"--cert", "x.pem"); code != exitDied || !strings.Contains(stderr, "key file") {
		t.Errorf("--cert without --key: exit %d\n%s", code, stderr)
	}
}

// TestServeRunsUntilInterrupted starts `ntx serve` on free ports with
// --ca-out, talks HTTP/2 over TLS (trusting the written CA) and DNS to
// it, and stops it with SIGINT.
func TestServeRunsUntilInterrupted(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	cmd := exec.Command(os.Args[0], "serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--tcp", "", "--udp", "",
		"--dns", "127.0.0.1:0", "--dot", "", "--proxy", "127.0.0.1:0", "--ca-out", ca)
	cmd.Env = append(os.Environ(), "NTX_TEST_AS_MAIN=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatalf("no output: %v", lines.Err())
	}
	m := regexp.MustCompile(`https (\S+), http/3 (\S+), .* dns (\S+), dns over tls (\S+), proxy (\S+)$`).FindStringSubmatch(lines.Text())
	if m == nil || m[2] != m[1] || m[4] != "off" || m[5] == "off" {
		t.Fatalf("first line %q", lines.Text())
	}
	// Then the CA's line, then the variables testdata/valid/ reads.
	for ok := lines.Scan(); ok; ok = lines.Scan() {
		if strings.Contains(lines.Text(), "export ") {
			break
		}
	}
	if want := "export NTX_TARGET_CA=" + ca + " NTX_TARGET_DNS=" + m[3] + " NTX_TARGET_HTTP="; !strings.Contains(lines.Text(), want) || !strings.Contains(lines.Text(), "NTX_TARGET_HTTPS="+m[1]) || strings.Contains(lines.Text(), "NTX_TARGET_TCP") {
		t.Errorf("the variables' line %q, want it to contain %q and the HTTPS address, not the TCP echo that is off", lines.Text(), want)
	}
	pemBytes, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pemBytes)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + m[1] + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Errorf("GET /health: %d %s", resp.StatusCode, resp.Proto)
	}
	q := new(dns.Msg)
	q.SetQuestion("www.ntx.test.", dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, m[3])
	if err != nil || len(r.Answer) != 1 {
		t.Fatalf("DNS: %v %v", err, r)
	}
	// The same HTTPS request through the proxy, as a CONNECT tunnel.
	proxy, _ := url.Parse("http://" + m[5])
	ptr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, Proxy: http.ProxyURL(proxy)}
	defer ptr.CloseIdleConnections()
	resp, err = (&http.Client{Transport: ptr, Timeout: 10 * time.Second}).Get("https://www.ntx.test:" + m[1][strings.LastIndex(m[1], ":")+1:] + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /health through the proxy: %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("ntx serve after SIGINT: %v", err)
	}
}
