package transport

import (
	"net/netip"
	"slices"
	"time"
)

// A user's HTTP/1.1 connections are its own, like its HTTP/2 ones: kept
// alive in its Conns between its requests and never handed to another
// user, even one sending from the same source address (a pool address
// shared by several users, or no address at all). Requests made without
// a Conns (tools, tests) keep theirs in the Source's pool.

// takeIdle returns an idle connection to key for a request of user u
// (nil: the source's pool), or nil.
func (s *Source) takeIdle(u *Conns, key destKey) *conn {
	if u == nil {
		return s.take(key)
	}
	return u.take1(s, key)
}

// putIdle keeps c, idle since at, for user u's next request to its
// destination (nil u: the source's pool), or closes it when the caps on
// idle connections are reached or the user has ended.
func (s *Source) putIdle(u *Conns, c *conn, at time.Time) {
	if u == nil {
		s.put(c, at)
		return
	}
	s.t.sweepOnce.Do(func() { go s.t.sweep() })
	c.idleSince = at
	if !u.keep1(s.t, c) {
		c.close()
	}
}

// take1 returns the user's most recently used idle connection from s
// to key that is still fit to carry a request, closing the ones that
// are not.
func (u *Conns) take1(s *Source, key destKey) *conn {
	t := s.t
	now := time.Now()
	for {
		var c *conn
		u.mu.Lock()
		for i := len(u.idle) - 1; i >= 0; i-- {
			if x := u.idle[i]; x.src == s && x.key == key {
				c = x
				u.idle = slices.Delete(u.idle, i, i+1)
				break
			}
		}
		u.mu.Unlock()
		if c == nil {
			return nil
		}
		t.idle.Add(-1)
		if now.Sub(c.idleSince) < t.opts.IdleTimeout && c.intact(now) {
			return c
		}
		c.close()
	}
}

// keep1 puts c aside for the user's next request from its source to
// its destination. It is false when the transport's cap on idle
// connections (three quarters of the open-file limit by default) or the
// per-destination cap is reached, or the user has ended: c is then the
// caller's to close.
func (u *Conns) keep1(t *Transport, c *conn) bool {
	if t.idle.Add(1) > int64(t.opts.MaxIdle) {
		t.idle.Add(-1)
		return false
	}
	u.mu.Lock()
	ok := !u.closed
	if ok {
		n := 0
		for _, x := range u.idle {
			if x.src == c.src && x.key == c.key {
				n++
			}
		}
		ok = n < t.opts.MaxIdlePerHost
	}
	watch := false
	if ok {
		u.idle = append(u.idle, c)
		watch, u.t = u.t == nil, t
	}
	u.mu.Unlock()
	if !ok {
		t.idle.Add(-1)
		return false
	}
	if watch { // the sweep closes what stays idle past the idle timeout
		t.usersMu.Lock()
		if t.users == nil {
			t.users = map[*Conns]struct{}{}
		}
		t.users[u] = struct{}{}
		t.usersMu.Unlock()
	}
	return true
}

// closeIdle1 closes the user's idle HTTP/1.1 connections that match:
// put aside before cutoff (the zero cutoff: any time), and from src
// when all is false.
func (u *Conns) closeIdle1(cutoff time.Time, src netip.Addr, all bool) {
	var old []*conn
	u.mu.Lock()
	t := u.t
	keep := u.idle[:0]
	for _, x := range u.idle {
		if (all || x.src.addr == src) && (cutoff.IsZero() || x.idleSince.Before(cutoff)) {
			old = append(old, x)
		} else {
			keep = append(keep, x)
		}
	}
	clear(u.idle[len(keep):])
	u.idle = keep
	u.mu.Unlock()
	if t == nil {
		return
	}
	t.idle.Add(-int64(len(old)))
	for _, c := range old {
		c.close()
	}
}

// unwatch forgets a user that has ended.
func (t *Transport) unwatch(u *Conns) {
	t.usersMu.Lock()
	delete(t.users, u)
	t.usersMu.Unlock()
}

// watched returns the users that keep idle HTTP/1.1 connections.
func (t *Transport) watched() []*Conns {
	t.usersMu.Lock()
	defer t.usersMu.Unlock()
	out := make([]*Conns, 0, len(t.users))
	for u := range t.users {
		out = append(out, u)
	}
	return out
}
