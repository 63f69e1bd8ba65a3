package suggest

import "testing"

func TestNearest(t *testing.T) {
	cands := []string{"tasks", "workflows", "name", "load", "timeout", "headers"}
	for word, want := range map[string]string{
		"taks": "tasks", "Tasks": "tasks", "tiemout": "timeout", "heders": "headers",
		"lod": "load", "zzzzzzzz": "", "": "",
	} {
		if got := Nearest(word, cands); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", word, got, want)
		}
	}
	if got := DidYouMean("nme", cands); got != ` (did you mean "name"?)` {
		t.Errorf("DidYouMean = %q", got)
	}
}
