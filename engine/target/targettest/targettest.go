// Package targettest starts the built-in target (package target) from
// Go tests: every listener on a free loopback port, recording on, closed
// when the test ends. ntx's own tests use it, and so can users' tests of
// their scenarios.
package targettest

import (
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
)

// Start starts the target for tb and closes it when tb ends; a target
// that cannot start fails tb.
func Start(tb testing.TB) *target.Server {
	tb.Helper()
	srv, err := target.StartEphemeral()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	return srv
}

// StartEnv is Start, and also sets the NTX_TARGET_* variables of
// Server.Env for the rest of t, as the scenarios under testdata/ read
// them. Like t.Setenv, it may not be used in parallel tests.
func StartEnv(t *testing.T) *target.Server {
	t.Helper()
	srv := Start(t)
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	return srv
}
