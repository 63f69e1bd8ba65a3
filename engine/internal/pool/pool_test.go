package pool

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func addrs(t *testing.T, specs, exclude []string) []netip.Addr {
	t.Helper()
	a, err := ParseAddrs(specs, exclude)
	if err != nil {
		t.Fatalf("ParseAddrs(%v, %v): %v", specs, exclude, err)
	}
	return a
}

func TestParseAddrs(t *testing.T) {
	for _, tc := range []struct {
		specs, exclude []string
		n              int
		first, last    string
	}{
		{[]string{"127.0.1.0/24"}, nil, 254, "127.0.1.1", "127.0.1.254"},
		{[]string{"127.0.1.0/30"}, nil, 2, "127.0.1.1", "127.0.1.2"},
		{[]string{"127.0.1.0/31"}, nil, 2, "127.0.1.0", "127.0.1.1"},
		{[]string{"127.0.1.9/32"}, nil, 1, "127.0.1.9", "127.0.1.9"},
		{[]string{"127.0.2.10-127.0.2.20"}, []string{"127.0.2.15"}, 10, "127.0.2.10", "127.0.2.20"},
		{[]string{"127.0.3.7", "127.0.3.7", "127.0.3.1"}, nil, 2, "127.0.3.1", "127.0.3.7"},
		{[]string{"::1", "fd00::/126"}, nil, 5, "::1", "fd00::3"},
		{[]string{"127.0.1.0/28", "::1"}, []string{"127.0.1.0/29"}, 8, "127.0.1.8", "::1"},
		{[]string{"127.0.9.1-127.0.9.3"}, []string{"127.0.0.0/8"}, 0, "", ""},
	} {
		got := addrs(t, tc.specs, tc.exclude)
		if tc.n == 0 {
			if len(got) != 0 {
				t.Errorf("ParseAddrs(%v, %v) = %v, want none", tc.specs, tc.exclude, got)
			}
			continue
		}
		if len(got) != tc.n || got[0].String() != tc.first || got[len(got)-1].String() != tc.last {
			t.Errorf("ParseAddrs(%v, %v) = %d addresses %v..%v, want %d %s..%s",
				tc.specs, tc.exclude, len(got), got[0], got[len(got)-1], tc.n, tc.first, tc.last)
		}
	}
}

func TestParseAddrsErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"127.0.0.0/33", "not a valid CIDR"},
		{"127.0.0.300", "not a valid address"},
		{"127.0.0.9-127.0.0.1", "ends before it starts"},
		{"127.0.0.1-::1", "mixes IPv4 and IPv6"},
		{"fd00::/64", "more than"},
		{"banana", "not a valid address"},
	} {
		_, err := ParseAddrs([]string{tc.spec}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseAddrs(%q) = %v, want error with %q", tc.spec, err, tc.want)
		}
	}
}

func take(t *testing.T, p *Pool, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		a, ok := p.Acquire()
		if !ok {
			t.Fatalf("Acquire #%d: pool exhausted", i+1)
		}
		out = append(out, a.String())
	}
	return out
}

func TestStrategies(t *testing.T) {
	four := addrs(t, []string{"127.0.5.1-127.0.5.4"}, nil)

	seq := New("s", four, Sequential, 1)
	got := take(t, seq, 3)
	seq.Release(netip.MustParseAddr("127.0.5.2"))
	got = append(got, take(t, seq, 1)...) // the lowest free address again
	if strings.Join(got, " ") != "127.0.5.1 127.0.5.2 127.0.5.3 127.0.5.2" {
		t.Errorf("sequential handed out %v", got)
	}

	rr := New("r", four, RoundRobin, 1)
	got = take(t, rr, 2)
	rr.Release(netip.MustParseAddr("127.0.5.1"))
	got = append(got, take(t, rr, 2)...) // continues after the last one, then wraps
	if strings.Join(got, " ") != "127.0.5.1 127.0.5.2 127.0.5.3 127.0.5.4" {
		t.Errorf("round robin handed out %v", got)
	}
	rr.Release(netip.MustParseAddr("127.0.5.3"))
	if a, _ := rr.Acquire(); a.String() != "127.0.5.1" {
		t.Errorf("round robin after wrap gave %v, want 127.0.5.1 (next free after .4)", a)
	}

	r1 := take(t, New("x", four, Random, 42), 4)
	r2 := take(t, New("x", four, Random, 42), 4)
	if strings.Join(r1, " ") != strings.Join(r2, " ") {
		t.Errorf("random with one seed gave %v and %v", r1, r2)
	}
	seen := map[string]bool{}
	for _, a := range r1 {
		seen[a] = true
	}
	if len(seen) != 4 {
		t.Errorf("random handed out duplicates: %v", r1)
	}
}

func TestExhaustionAndStats(t *testing.T) {
	p := New("p", addrs(t, []string{"127.0.6.1-127.0.6.2"}, nil), RoundRobin, 1)
	take(t, p, 2)
	if _, ok := p.Acquire(); ok {
		t.Fatal("Acquire on a full pool succeeded")
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		p.Release(netip.MustParseAddr("127.0.6.1"))
	}()
	a, ok := p.AcquireWait(context.Background(), 5*time.Second)
	if !ok || a.String() != "127.0.6.1" {
		t.Fatalf("AcquireWait = %v, %v; want the released address", a, ok)
	}
	if _, ok := p.AcquireWait(context.Background(), 10*time.Millisecond); ok {
		t.Fatal("AcquireWait on a full pool succeeded")
	}
	st := p.Stats()
	if st.Size != 2 || st.PeakAllocated != 2 || st.Exhausted != 2 || st.Waits != 2 {
		t.Errorf("stats = %+v, want size 2, peak 2, exhausted 2, waits 2", st)
	}
}

func TestNextShared(t *testing.T) {
	p := New("p", addrs(t, []string{"127.0.7.1-127.0.7.3"}, nil), RoundRobin, 1)
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, p.Next().String())
	}
	if strings.Join(got, " ") != "127.0.7.1 127.0.7.2 127.0.7.3 127.0.7.1" {
		t.Errorf("Next gave %v", got)
	}
	if p.Stats().Allocated != 0 {
		t.Error("Next must not hold addresses")
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	list, _ := ParseAddrs([]string{"127.1.0.0/18"}, nil)
	for _, s := range []Strategy{RoundRobin, Sequential, Random} {
		p := New("b", list, s, 1)
		for i := 0; i < len(list)/2; i++ {
			p.Acquire()
		}
		b.Run([]string{"round_robin", "sequential", "random"}[s], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				a, _ := p.Acquire()
				p.Release(a)
			}
		})
	}
}

// TestSpecsRefuseNonSources: the unspecified address and multicast
// addresses are not source addresses, alone or inside a range or CIDR.
func TestSpecsRefuseNonSources(t *testing.T) {
	for spec, want := range map[string]string{
		"0.0.0.0":                   "unspecified",
		"::":                        "unspecified",
		"::/0":                      "unspecified",
		"0.0.0.0-0.0.0.9":           "unspecified",
		"224.0.0.1":                 "is a multicast",
		"ff02::1":                   "is a multicast",
		"::ffff:239.1.2.3":          "is a multicast",
		"223.255.255.250-224.0.0.2": "includes a multicast",
		"239.0.0.0/8":               "includes a multicast",
		"fe00::/7":                  "includes a multicast",
	} {
		err := CheckSpec(spec)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckSpec(%q) = %v, want %q", spec, err, want)
		}
		if _, err := ParseAddrs([]string{spec}, nil); err == nil {
			t.Errorf("ParseAddrs(%q) expanded it", spec)
		}
	}
	for _, spec := range []string{"223.255.255.255", "240.0.0.1", "127.0.0.0/8", "fe80::1", "::1"} {
		if err := CheckSpec(spec); err != nil {
			t.Errorf("CheckSpec(%q): %v", spec, err)
		}
	}
	// Excluding a broad block that includes them is fine.
	if _, err := ParseAddrs([]string{"127.0.0.1"}, []string{"0.0.0.0/0"}); err != nil {
		t.Errorf("exclude 0.0.0.0/0: %v", err)
	}
}

func TestSpecsContainAgreesWithExpansion(t *testing.T) {
	specs, exclude := []string{"127.0.1.0/24", "127.0.2.10-127.0.2.20", "::1"}, []string{"127.0.2.15"}
	p := New("p", addrs(t, specs, exclude), RoundRobin, 1)
	for _, s := range []string{"127.0.1.0", "127.0.1.1", "127.0.1.254", "127.0.1.255", "127.0.2.10", "127.0.2.15", "127.0.2.20", "127.0.2.21", "::1", "::2", "::ffff:127.0.1.1", "10.0.0.1"} {
		a := netip.MustParseAddr(s)
		if got, want := SpecsContain(specs, exclude, a), p.Contains(a); got != want {
			t.Errorf("%s: SpecsContain %v, pool has it %v", s, got, want)
		}
	}
}
