package engine_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
	"github.com/ntx-dev/ntx/engine/target/targettest"
)

// startTarget starts the built-in target on ephemeral loopback ports and
// points the testdata scenarios at it through NTX_TARGET_* variables.
func startTarget(t *testing.T) *target.Server {
	t.Helper()
	srv := targettest.StartEnv(t)
	t.Setenv("NTX_TARGET_REFUSED", closedPort(t))
	return srv
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// runFile runs a scenario file (or src in its place) and fails the test
// on an error.
func runFile(t *testing.T, file string, src []byte) *engine.Result {
	t.Helper()
	res, err := engine.Run(context.Background(), file, src, engine.Options{Options: runOpts()})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return res
}

// seen renders what the targets received as sorted lines, so that two
// runs can be compared whatever the order of concurrent users.
func seen(srvs ...*target.Server) []string {
	var out []string
	var all []target.Seen
	for _, srv := range srvs {
		if srv == nil {
			continue
		}
		settle(srv)
		all = append(all, srv.Seen()...)
	}
	for _, s := range all {
		line := fmt.Sprintf("%s %s %s?%s from %s: %q", s.Proto, s.Method, s.Path, s.Query, s.Source, s.Body)
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

// settle waits until the target has handled what is already on its
// sockets: a UDP datagram sent without waiting for a reply may still be
// in the target's receive buffer when a run returns.
func settle(srv *target.Server) {
	last := -1
	for i := 0; i < 100; i++ {
		n := len(srv.Seen())
		if n == last {
			return
		}
		last = n
		time.Sleep(5 * time.Millisecond)
	}
}

// count returns how many requests match.
func count(srv *target.Server, match func(target.Seen) bool) int {
	settle(srv)
	n := 0
	for _, s := range srv.Seen() {
		if match(s) {
			n++
		}
	}
	return n
}

func sources(srv *target.Server, proto string) map[string]int {
	settle(srv)
	m := map[string]int{}
	for _, s := range srv.Seen() {
		if s.Proto == proto {
			m[s.Source]++
		}
	}
	return m
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func keys(m map[string]int) string {
	var ks []string
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}
