package stdlib

import (
	"net/http"
	"net/url"
	"runtime"
	"testing"
)

// TestCookieJarMemory measures what a user's jar holding one session
// cookie keeps on the heap (logged; the bound is generous, not a goal).
// A user that was never sent a cookie has no jar: its Session's jars
// are two nil pointers.
func TestCookieJarMemory(t *testing.T) {
	const n = 10000
	u, _ := url.Parse("http://shop.ntx.test/login")
	set := []*http.Cookie{{Name: "session", Value: "0123456789abcdef0123456789abcdef", Path: "/", HttpOnly: true}}
	jars := make([]lazyJar, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range jars {
		jars[i].SetCookies(u, set)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("a jar with one cookie keeps %.0f bytes", per)
	if per > 4096 {
		t.Errorf("a jar with one cookie keeps %.0f bytes, more than 4 KiB", per)
	}
	if len(jars[n-1].Cookies(u)) != 1 {
		t.Fatal("the jar lost its cookie")
	}
}
