package target

import (
	"crypto/tls"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/quic-go/quic-go/http3"
)

// TestIPv6Listeners: HTTPS, HTTP/3 and DNS on [::1], with the source
// recorded as ::1.
func TestIPv6Listeners(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	} else {
		ln.Close()
	}
	srv := start(t, &Config{HTTPS: "[::1]:0", HTTP3: true, DNS: "[::1]:0", Record: true})
	url := "https://" + srv.HTTPSAddr() + "/health"
	roots := &tls.Config{RootCAs: srv.CAPool()}
	get(t, client(&dialRecorder{}, roots, false, true, false), url)
	tr := &http3.Transport{TLSClientConfig: roots.Clone()}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := new(dns.Msg)
	q.SetQuestion("www.ntx.test.", dns.TypeAAAA)
	if _, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, srv.DNSAddr()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range srv.Seen() {
		got = append(got, v.Proto+" "+v.Version+" "+v.Network+" "+v.Source)
	}
	want := []string{"http HTTP/2.0 tcp ::1", "http HTTP/3.0 udp ::1", "dns  udp ::1"}
	if len(got) != len(want) {
		t.Fatalf("seen %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("seen %q, want %q", got, want)
			break
		}
	}
}
