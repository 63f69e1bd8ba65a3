package transport_test

import (
	"context"
	"testing"
	"time"

	"github.com/ntx-dev/ntx/engine/transport"
)

// TestUsersNeverShareConnections: two users sending from the same
// source address, one request each in turn, keep their own kept-alive
// HTTP/1.1 connection: the target sees two source ports, each carrying
// one user's requests only. A user giving its address back closes its
// idle connection, and ending it closes the rest.
func TestUsersNeverShareConnections(t *testing.T) {
	tgt := startTarget(t)
	tr := newTransport(t, transport.Options{})
	for _, from := range []string{"", "127.0.0.1"} { // unbound users share a Source too
		tgt.Reset()
		src := tr.Source(unbound)
		if from != "" {
			src = tr.Source(mustAddr(from))
		}
		users := []*transport.Conns{transport.NewConns(), transport.NewConns()}
		for round := range 3 {
			for i, u := range users {
				r := src.Do(context.Background(), &transport.Request{Method: "GET", Timeout: 5 * time.Second, Conns: u,
					URL: mustURL(t, "http://"+tgt.HTTPAddr()+"/health?user="+string(rune('a'+i)))})
				if r.Err != nil || r.Status != 200 {
					t.Fatalf("from %q: round %d, user %d: %+v", from, round, i, r)
				}
			}
		}
		byPort := map[string]string{} // source address with port -> the user seen there
		for _, s := range tgt.Seen() {
			u := s.Query
			if prev, ok := byPort[s.Addr]; ok && prev != u {
				t.Errorf("from %q: connection %s carried requests of two users (%s and %s)", from, s.Addr, prev, u)
			}
			byPort[s.Addr] = u
		}
		if len(tgt.Seen()) != 6 || len(byPort) != 2 {
			t.Errorf("from %q: 2 users × 3 kept-alive requests came over %d connections (%d requests), want 2: %v",
				from, len(byPort), len(tgt.Seen()), byPort)
		}
		if n := tr.Idle(); n != 2 {
			t.Errorf("from %q: %d idle connections, want 2 (one per user)", from, n)
		}
		users[0].CloseFrom(src.Addr()) // the user gave its address back
		if n := tr.Idle(); n != 1 {
			t.Errorf("from %q: %d idle connections after a user gave its address back, want 1", from, n)
		}
		users[1].Close() // the user ended
		if n := tr.Idle(); n != 0 {
			t.Errorf("from %q: %d idle connections after both users were done, want 0", from, n)
		}
	}
}
