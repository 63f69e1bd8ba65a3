package engine_test

import (
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
)

// startTarget6 starts a second target on [::1] for the IPv6 scenario; nil
// where the host has no IPv6 loopback.
func startTarget6(t *testing.T) *target.Server {
	t.Helper()
	srv, err := target.Start(target.Config{HTTP: "[::1]:0", Record: true})
	if err != nil {
		t.Logf("no IPv6 loopback: %v", err)
		return nil
	}
	t.Cleanup(srv.Close)
	t.Setenv("NTX_TARGET_HTTP6", srv.HTTPAddr())
	return srv
}

func TestIPv6Pool(t *testing.T) {
	startTarget(t)
	srv := startTarget6(t)
	if srv == nil {
		t.Skip("this host has no IPv6 loopback")
	}
	res := runFile(t, "../testdata/valid/ipv6.yaml", nil)
	if got := keys(sources(srv, "http")); got != "::1=1" {
		t.Errorf("sources = %s", got)
	}
	if res.SourceIPs["::1"] == nil || res.SourceIPs["::1"].Requests != 1 {
		t.Errorf("source_ips = %v", res.SourceIPs)
	}
}
