package runtime

import (
	"strings"
	"testing"

	"go.starlark.net/syntax"
)

// TestDiscardUnread: discard_body = True is added to exactly the HTTP
// calls whose response nothing can read.
func TestDiscardUnread(t *testing.T) {
	for src, want := range map[string]int{
		"def flow(user):\n    http.get(u)\n    http.request(u, method = 'POST')\n":                     2,
		"def flow(user):\n    r = http.get(u)\n    print(http.get(u).body)\n":                          0,
		"def flow(user):\n    http.get(u, export = [])\n    http.get(u, discard_body = False)\n":       0,
		"def flow(user):\n    http.get(u, **kw)\n    http.get(*a)\n    tcp.request(u)\n":               0,
		"def flow(user, http):\n    http.get(u)\n":                                                     0, // not the module
		"load('x.star', 'http')\ndef flow(user):\n    http.get(u)\n":                                   0,
		"def flow(user):\n    if True:\n        http.get(u)\n    for x in []:\n        http.post(u)\n": 2,
	} {
		f, err := FileOptions.Parse("t.star", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		discardUnread(f)
		got := 0
		syntax.Walk(f, func(n syntax.Node) bool {
			if id, ok := n.(*syntax.Ident); ok && id.Name == "discard_body" {
				got++
			}
			return true
		})
		// discard_body = False, given by the script, is not ours.
		got -= strings.Count(src, "discard_body")
		if got != want {
			t.Errorf("%q: discard_body added to %d calls, want %d", src, got, want)
		}
	}
}
