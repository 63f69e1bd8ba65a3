package stdlib

import (
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// draws runs expr n times in user's thread of a run seeded with seed.
func draws(t *testing.T, seed uint64, user int, expr string, n int) []string {
	t.Helper()
	th := &starlark.Thread{}
	NewRandom(seed, user).Attach(th)
	env := starlark.StringDict{"random": randomModule()}
	out := make([]string, n)
	for i := range out {
		v, err := starlark.EvalOptions(&syntax.FileOptions{}, th, "t", expr, env)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		out[i] = v.String()
	}
	return out
}

func TestRandomIsReproduciblePerUser(t *testing.T) {
	for _, expr := range []string{"random.int(1, 1000000)", "random.float()", "random.uuid()", "random.string(12)",
		`random.choice(["a", "b", "c", "d", "e", "f"])`, "random.shuffle(range(20))"} {
		a := strings.Join(draws(t, 42, 7, expr, 5), " ")
		if b := strings.Join(draws(t, 42, 7, expr, 5), " "); a != b {
			t.Errorf("%s: the same seed and user gave %s, then %s", expr, a, b)
		}
		if c := strings.Join(draws(t, 42, 8, expr, 5), " "); a == c {
			t.Errorf("%s: users 7 and 8 drew the same: %s", expr, a)
		}
		if d := strings.Join(draws(t, 43, 7, expr, 5), " "); a == d {
			t.Errorf("%s: seeds 42 and 43 drew the same: %s", expr, a)
		}
	}
}

func TestRandomValues(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range draws(t, 1, 1, "random.int(3, 5)", 300) {
		seen[v] = true
	}
	if len(seen) != 3 || !seen["3"] || !seen["4"] || !seen["5"] {
		t.Errorf("random.int(3, 5) gave %v: want 3, 4 and 5, both ends included", seen)
	}
	if v := draws(t, 1, 1, "random.int(-9223372036854775808, 9223372036854775807)", 1); v[0] == "" {
		t.Error("the full int64 range")
	}
	for _, v := range draws(t, 1, 1, "random.float()", 200) {
		if f, _ := starlarkFloat(v); f < 0 || f >= 1 {
			t.Fatalf("random.float() = %s", v)
		}
	}
	for _, v := range draws(t, 1, 1, "random.float(10, 12)", 200) {
		if f, _ := starlarkFloat(v); f < 10 || f >= 12 {
			t.Fatalf("random.float(10, 12) = %s", v)
		}
	}
	uuid := regexp.MustCompile(`^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$`)
	for _, v := range draws(t, 1, 1, "random.uuid()", 50) {
		if !uuid.MatchString(v) {
			t.Fatalf("random.uuid() = %s", v)
		}
	}
	if v := draws(t, 1, 1, "random.string(40)", 1)[0]; !regexp.MustCompile(`^"[A-Za-z0-9]{40}"$`).MatchString(v) {
		t.Errorf("random.string(40) = %s", v)
	}
	if v := draws(t, 1, 1, `random.string(5, chars = "é")`, 1)[0]; v != `"ééééé"` {
		t.Errorf("random.string(5, chars) = %s", v)
	}
	got := draws(t, 1, 1, "sorted(random.shuffle([3, 1, 2]))", 1)[0]
	if got != "[1, 2, 3]" {
		t.Errorf("shuffle lost elements: %s", got)
	}
	if v := draws(t, 1, 1, "random.choice(\"x\")", 1)[0]; v != `"x"` {
		t.Errorf("choice of a string: %s", v)
	}
}

func starlarkFloat(s string) (float64, bool) {
	v, err := starlark.EvalOptions(&syntax.FileOptions{}, &starlark.Thread{}, "f", s, nil)
	if err != nil {
		return 0, false
	}
	return starlark.AsFloat(v)
}

func TestRandomShuffleLeavesItsArgument(t *testing.T) {
	th := &starlark.Thread{}
	NewRandom(1, 1).Attach(th)
	frozen := starlark.NewList([]starlark.Value{starlark.MakeInt(1), starlark.MakeInt(2), starlark.MakeInt(3)})
	frozen.Freeze()
	env := starlark.StringDict{"random": randomModule(), "xs": frozen}
	if _, err := starlark.EvalOptions(&syntax.FileOptions{}, th, "t", "random.shuffle(xs)", env); err != nil {
		t.Fatalf("a frozen list can be shuffled into a new one: %v", err)
	}
	if frozen.String() != "[1, 2, 3]" {
		t.Fatalf("the argument changed: %s", frozen)
	}
}

func TestRandomErrors(t *testing.T) {
	th := &starlark.Thread{}
	NewRandom(1, 1).Attach(th)
	env := starlark.StringDict{"random": randomModule()}
	for expr, want := range map[string]string{
		"random.int(5, 1)":            "a (5) is greater than b (1)",
		"random.int(1)":               "random.int: missing argument for b",
		"random.choice([])":           "random.choice: the list is empty",
		"random.string(-1)":           "n must be from 0",
		`random.string(3, chars="")`:  "chars must not be empty",
		"random.float(1)":             "give no bounds, or both",
		"random.float(2, 1)":          "need finite a <= b",
		`random.int("1", 2)`:          "random.int: for parameter a: got string, want int",
		"random.uuid(1)":              "random.uuid: got 1 arguments, want at most 0",
		"random.shuffle(1)":           "random.shuffle: want a list or another iterable, not int",
		`random.choice({"a": 1})`:     "random.choice: want a list, tuple or string, not dict",
		"random.randint(1, 2)":        "random has no .randint: use random.int(a, b), both ends included",
		"random.rand()":               "random has no .rand (it has choice, float, int, shuffle, string, uuid)",
		"random.string(2000000)":      "n must be from 0 to 1048576",
		"random.float(0, 1e308 * 10)": "need finite a <= b",
	} {
		_, err := starlark.EvalOptions(&syntax.FileOptions{}, th, "t", expr, env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want an error containing %q, got %v", expr, want, err)
		}
	}
	// Without a user's stream (at load time) random refuses rather than
	// drawing something no seed would repeat.
	if _, err := starlark.EvalOptions(&syntax.FileOptions{}, &starlark.Thread{}, "t", "random.int(1, 2)", env); err == nil || !strings.Contains(err.Error(), "only available while a scenario runs") {
		t.Errorf("no stream: %v", err)
	}
}
