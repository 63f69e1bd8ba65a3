package report

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestResultIsDocumented: every key of the result JSON, at the top and
// in the objects under it, is named in the reference's "The result"
// section, so that a key added to Result cannot go undocumented.
func TestResultIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n## The result\n")
	if start < 0 {
		t.Fatal(`docs/reference.md has no "## The result" section`)
	}
	section := doc[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	// Top-level keys have a row of their own.
	for _, key := range jsonKeys(reflect.TypeOf(Result{})) {
		if !strings.Contains(section, "| `"+key+"`") && !strings.Contains(section, ", `"+key+"` |") {
			t.Errorf("the result's key %q has no row in docs/reference.md's The result", key)
		}
	}
	// Nested keys are named, alone or at the end of a dotted path.
	for _, v := range []any{Users{}, Iterations{}, Flow{}, Arrivals{}, Action{}, Latency{}, SourceIP{}, Pool{},
		Check{}, Threshold{}, Point{}, ActionPoint{}, HDR{}, Fleet{}, LostSegment{}, Reason{}} {
		for _, key := range jsonKeys(reflect.TypeOf(v)) {
			if !regexp.MustCompile("`[^`]*\\b" + regexp.QuoteMeta(key) + "`").MatchString(section) {
				t.Errorf("the result's key %q (in %T) is not named in docs/reference.md's The result", key, v)
			}
		}
	}
}

// jsonKeys lists the JSON names of a struct's fields.
func jsonKeys(ty reflect.Type) []string {
	var keys []string
	for i := range ty.NumField() {
		name, _, _ := strings.Cut(ty.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}
