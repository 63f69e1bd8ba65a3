package scenario

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// decoder reads yaml.Nodes strictly: every unknown key, wrong type or bad
// value is recorded with its position, and decoding goes on so that all
// problems of a file are reported together.
type decoder struct {
	file string
	errs ErrorList
}

func (d *decoder) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs.Add(d.pos(n), format, args...)
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "something else"
}

// field is one key of a mapping, with the key's own node for positions.
type field struct {
	key   *yaml.Node
	value *yaml.Node
}

// fields checks that n is a mapping whose keys are all in allowed and
// returns them by name. what names the mapping in messages.
func (d *decoder) fields(n *yaml.Node, what string, allowed ...string) map[string]field {
	n = deref(n)
	out := map[string]field{}
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return out
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be plain strings", what)
			continue
		}
		if k.Value == "<<" {
			// yaml.v3 leaves merge keys to the caller; expand them.
			for name, f := range d.fields(v, what, allowed...) {
				if _, dup := out[name]; !dup {
					out[name] = f
				}
			}
			continue
		}
		if !contains(allowed, k.Value) {
			d.errorf(k, "unknown key %q in %s%s", k.Value, what, didYouMean(k.Value, allowed))
			continue
		}
		if prev, dup := out[k.Value]; dup {
			d.errorf(k, "duplicate key %q in %s (first at line %d)", k.Value, what, prev.key.Line)
			continue
		}
		out[k.Value] = field{key: k, value: v}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func (d *decoder) str(n *yaml.Node, what string) string {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s must be a string, not %s", what, kindName(n))
		return ""
	}
	return n.Value
}

// id reads an identifier-like name: non-empty, no white space.
func (d *decoder) id(n *yaml.Node, what string) string {
	s := d.str(n, what)
	if s == "" {
		if deref(n).Kind == yaml.ScalarNode && deref(n).Tag != "!!null" {
			d.errorf(n, "%s must not be empty", what)
		}
		return ""
	}
	if !idPattern.MatchString(s) {
		d.errorf(n, "%s %q may hold only letters, digits, '_', '-' and '.', and must start with a letter or '_'", what, s)
	}
	return s
}

var idPattern = regexp.MustCompile(catalog.IDPattern)

func (d *decoder) integer(n *yaml.Node, what string, lo int) int {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err == nil && v >= int64(lo) && v <= math.MaxInt32 {
			return int(v)
		}
		d.errorf(n, "%s must be a whole number from %d to %d, not %s", what, lo, math.MaxInt32, n.Value)
		return 0
	}
	d.errorf(n, "%s must be a whole number, not %s", what, kindName(n))
	return 0
}

func (d *decoder) boolean(n *yaml.Node, what string) bool {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		_ = n.Decode(&b)
		return b
	}
	d.errorf(n, "%s must be true or false, not %s", what, kindName(n))
	return false
}

// duration reads "300ms", "1.5s", "2m" or a bare number of seconds.
func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" || n.Tag == "!!bool" {
		d.errorf(n, "%s must be a duration such as 300ms or 2s, not %s", what, kindName(n))
		return 0
	}
	v, err := catalog.ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
	}
	return v
}

// rate reads "100/s", "6000/m", "5/1s" or a bare number per second.
func (d *decoder) rate(n *yaml.Node, what string) float64 {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s must be a rate such as 100/s, not %s", what, kindName(n))
		return 0
	}
	r, err := catalog.ParseRate(n.Value)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
	}
	return r
}

func (d *decoder) list(n *yaml.Node, what string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s must be a list, not %s", what, kindName(n))
		return nil
	}
	return n.Content
}

// strs reads a list of strings, or a single string as a list of one.
func (d *decoder) strs(n *yaml.Node, what string) []string {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	var out []string
	for _, e := range d.list(n, what) {
		out = append(out, d.str(e, what+" entry"))
	}
	return out
}

// mapping checks that n is a mapping (or null) and returns it.
func (d *decoder) mapping(n *yaml.Node, what string) *yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s must be a mapping, not %s", what, kindName(n))
		return nil
	}
	return n
}
