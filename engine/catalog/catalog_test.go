package catalog

import (
	"strings"
	"testing"
	"time"
)

// TestWellFormed checks the tables for mistakes a reader would not see:
// duplicate names, enums without values, lists without elements, keys
// without documentation.
func TestWellFormed(t *testing.T) {
	checkValue := func(where string, v Value) {
		switch {
		case v.Type == Enum && len(v.Values) == 0:
			t.Errorf("%s: an enum with no values", where)
		case v.Type == Object && v.Obj == nil:
			t.Errorf("%s: an object with no keys", where)
		case v.Type == "" && len(v.OneOf) == 0:
			t.Errorf("%s: no type", where)
		}
	}
	checkKeys := func(where string, keys []Key) {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k.Name] {
				t.Errorf("%s: %s twice", where, k.Name)
			}
			seen[k.Name] = true
			if k.Doc == "" {
				t.Errorf("%s.%s: no doc", where, k.Name)
			}
			checkValue(where+"."+k.Name, k.Value)
		}
	}
	for _, o := range Objects() {
		checkKeys(o.Name, o.Keys)
	}
	calls := map[string]bool{}
	for _, c := range Calls {
		if calls[c.Name] {
			t.Errorf("call %s twice", c.Name)
		}
		calls[c.Name] = true
		checkKeys(c.Name, c.Keys)
		if LookupFunc(c.Func) == nil {
			t.Errorf("call %s runs %s, which is not a Func", c.Name, c.Func)
		}
		if c.Required() == "" {
			t.Errorf("call %s has no required key", c.Name)
		}
	}
	names := map[string]bool{}
	for _, n := range Predeclared {
		names[n.Name] = true
	}
	for _, f := range Funcs {
		checkKeys(f.Name, f.Params)
		mod, _, _ := strings.Cut(f.Name, ".")
		if !names[mod] {
			t.Errorf("%s is not reachable from a predeclared name", f.Name)
		}
	}
}

func TestReserved(t *testing.T) {
	for _, name := range []string{"http", "vars", "user", "tenant", "NODES", "r", "math"} {
		if !Reserved(name) {
			t.Errorf("%s is not reserved", name)
		}
	}
	if Reserved("target") {
		t.Errorf("target is reserved")
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"300ms": 300 * time.Millisecond, " 2s ": 2 * time.Second, "1.5": 1500 * time.Millisecond,
		"0": 0, "1m30s": 90 * time.Second, "1e9": 1e9 * time.Second}
	for s, want := range good {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	bad := map[string]string{"1e12": "out of range", "NaN": "out of range", "inf": "out of range", "-1": "must not be negative",
		"-5s": "must not be negative", "10 minutes": "not a duration", "": "not a duration"}
	for s, want := range bad {
		if _, err := ParseDuration(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q): %v, want %q", s, err, want)
		}
	}
}

func TestParseRate(t *testing.T) {
	good := map[string]float64{"100/s": 100, "6000/m": 100, "360/h": 0.1, "5/500ms": 10, "7": 7, " 2 / s ": 2}
	for s, want := range good {
		if got, err := ParseRate(s); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"fast", "0/s", "-1/s", "10/parsec", "10/0s", "inf/s", ""} {
		if _, err := ParseRate(s); err == nil || !strings.Contains(err.Error(), "not a rate") {
			t.Errorf("ParseRate(%q): %v, want not a rate", s, err)
		}
	}
}
