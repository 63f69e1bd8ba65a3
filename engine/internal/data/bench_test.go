package data

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// accounts is a CSV of n rows shaped like scripts/bench/data-memory.sh's.
func accounts(n int) []byte {
	var b strings.Builder
	b.WriteString("id,username,password,email\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,user%06d,pw-%08x-%08x,user%06d@example.test\n", i, i, uint32(i*2654435761), uint32(i*40503), i)
	}
	return []byte(b.String())
}

// BenchmarkCSVTable parses 100,000 rows and reports the heap the table
// keeps, per row and in all, next to the file's size.
func BenchmarkCSVTable(b *testing.B) {
	src := accounts(100_000)
	var kept uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		t, err := ParseCSV("a.csv", src)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(t)
	}
	b.ReportMetric(float64(kept)/100_000, "heap-B/row")
	b.ReportMetric(float64(kept)/float64(len(src)), "heap/file")
}

// BenchmarkRead is one iteration's read of two columns of a per_user
// row, as data.accounts.username and data.accounts.password do.
func BenchmarkRead(b *testing.B) {
	t, err := ParseCSV("a.csv", accounts(1000))
	if err != nil {
		b.Fatal(err)
	}
	v := NewFeeds([]Source{{ID: "accounts", Table: t}}, 1).View(7)
	it := 0
	for b.Loop() {
		it++
		v.Begin(it)
		r, _ := v.Row("accounts")
		_, _ = r.Attr("username")
		_, _ = r.Attr("password")
	}
}

// BenchmarkUniqueDraw is a unique dataset's draw under contention from
// every core: one atomic add, no lock.
func BenchmarkUniqueDraw(b *testing.B) {
	t, err := ParseCSV("a.csv", accounts(1000))
	if err != nil {
		b.Fatal(err)
	}
	f := NewFeeds([]Source{{ID: "a", Order: Unique, OnExhausted: Recycle, Table: t}}, 1)
	b.RunParallel(func(pb *testing.PB) {
		v := f.View(1)
		it := 0
		for pb.Next() {
			it++
			v.Begin(it)
			_, _ = v.Row("a")
		}
	})
}
