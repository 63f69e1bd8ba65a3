package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// billionLaughs builds the classic alias bomb: levels of nine aliases to
// the level below, 9^levels strings when expanded.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("variables:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		p := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.Repeat(p+", ", 8)+p)
	}
	return b.String() + "tasks:\n  - id: end\n"
}

// mergeChain builds n mappings, each merging the one before it.
func mergeChain(n int) string {
	var b strings.Builder
	b.WriteString("variables:\n  m0: &m0 {k0: 0}\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "  m%d: &m%d {<<: *m%d, k%d: %d}\n", i, i, i-1, i, i)
	}
	return b.String() + "tasks:\n  - id: end\n"
}

// wideMerges merges one mapping of many keys into many mappings: flat,
// but large when expanded.
func wideMerges(keys, uses int) string {
	var b strings.Builder
	b.WriteString("variables:\n  base: &base {")
	for i := 0; i < keys; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "k%d: %d", i, i)
	}
	b.WriteString("}\n")
	for i := 0; i < uses; i++ {
		fmt.Fprintf(&b, "  u%d: {<<: *base, own: %d}\n", i, i)
	}
	return b.String() + "tasks:\n  - id: end\n"
}

func TestBudgetRefusesHostileYAML(t *testing.T) {
	for _, c := range []struct {
		name, src string
		at        string // FILE:LINE:COL of the first error
		msg       string
	}{
		{"self cycle", "variables: &a {b: *a}\ntasks:\n  - id: end\n", "t.yaml:1:19", "alias cycle"},
		{"cycle through a list", "variables:\n  x: &x [1, [2, *x]]\ntasks:\n  - id: end\n", "t.yaml:2:17", "alias cycle"},
		{"cycle through a merge", "variables: &v\n  <<: *v\ntasks:\n  - id: end\n", "t.yaml:2:7", "alias cycle"},
		{"billion laughs", billionLaughs(9), "t.yaml:7:", "more than 100000 extra nodes"},
		{"merge chain", mergeChain(400), "t.yaml:", "deeper than 64 levels"},
		{"wide merges", wideMerges(300, 400), "t.yaml:", "more than 100000 extra nodes"},
		{"deep literal", "variables:\n  a: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\ntasks:\n  - id: end\n", "t.yaml:2:", "deeper than 64 levels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(c.src))
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("want an input error, got %v", err)
			}
			got := list[0].Error()
			if !strings.HasPrefix(got, c.at) || !strings.Contains(got, c.msg) {
				t.Errorf("got %q, want it at %s and saying %q", got, c.at, c.msg)
			}
		})
	}
}

// TestBudgetKeepsOrdinaryAliases: sharing a block of settings, merge keys
// and nesting of a sensible depth all pass.
func TestBudgetKeepsOrdinaryAliases(t *testing.T) {
	for name, src := range map[string]string{
		"shared block": `variables:
  base: &base {region: eu, tier: gold}
  a: *base
  b: {<<: *base, tier: silver}
tasks:
  - id: end
`,
		"short merge chain": mergeChain(40),
		"nine laughs":       billionLaughs(3),
		"flat merges":       wideMerges(20, 200),
		"nested 50 deep":    "variables:\n  a: " + strings.Repeat("[", 50) + strings.Repeat("]", 50) + "\ntasks:\n  - id: end\n",
	} {
		if _, err := Parse("t.yaml", []byte(src)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestStarlarkDictBudget(t *testing.T) {
	pos := Pos{File: "s.star", Line: 3, Col: 1}
	self := starlark.NewDict(1)
	_ = self.SetKey(starlark.String("self"), self)
	loop := starlark.NewList(nil)
	_ = loop.Append(starlark.NewList([]starlark.Value{loop}))
	bomb := starlark.Value(starlark.String("lol"))
	for i := 0; i < 9; i++ {
		l := make([]starlark.Value, 9)
		for j := range l {
			l[j] = bomb
		}
		bomb = starlark.NewList(l)
	}
	shared := starlark.NewList([]starlark.Value{starlark.MakeInt(1)})
	twice := starlark.NewDict(2)
	_ = twice.SetKey(starlark.String("a"), shared)
	_ = twice.SetKey(starlark.String("b"), shared)
	for _, c := range []struct {
		name string
		v    starlark.Value
		msg  string // "" passes
	}{
		{"dict contains itself", self, "variables: self: the dict contains itself"},
		{"list contains itself", loop, "variables: [0]: [0]: the list contains itself"},
		{"shared many times", bomb, "expands to more than 100000 values"},
		{"shared twice is fine", twice, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := starlark.NewDict(1)
			_ = cfg.SetKey(starlark.String("variables"), c.v)
			_, err := FromStarlark("s.star", pos, cfg)
			if c.msg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "s.star:3:1: ") || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("got %v, want s.star:3:1 and %q", err, c.msg)
			}
		})
	}
}
