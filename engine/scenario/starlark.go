package scenario

import (
	"fmt"
	"math"
	"strconv"

	"go.starlark.net/starlark"
	"gopkg.in/yaml.v3"
)

// FromStarlark decodes the `scenario` dict of a .star file. The dict is
// turned into YAML nodes placed at pos (where `scenario` is assigned) and
// read by the same decoder as YAML files, so both accept exactly the same
// keys and values.
func FromStarlark(file string, pos Pos, v starlark.Value) (*Scenario, error) {
	d := &decoder{file: file}
	s := &Scenario{File: file}
	n, err := (&toNoder{pos: pos, open: map[starlark.Value]bool{}}).node(v, 1)
	if err != nil {
		d.errs.Add(pos, "scenario: %v", err)
		return nil, d.errs.Err()
	}
	d.config(s, d.fields(n, "the scenario dict", RunKeys...))
	if len(d.errs) == 0 {
		v := &validator{s: s, d: d}
		v.ids()
		v.pools()
		v.load()
		v.thresholds(false)
	}
	return s, d.errs.Err()
}

// toNoder converts a Starlark value into YAML nodes within the budgets a
// YAML file has: a list or dict that contains itself would be endless,
// and values shared many times over (a = [x] * 9; b = [a] * 9; ...)
// would expand like a YAML alias bomb.
type toNoder struct {
	pos   Pos
	open  map[starlark.Value]bool // lists and dicts being converted
	nodes int
}

func (t *toNoder) node(v starlark.Value, level int) (*yaml.Node, error) {
	pos := t.pos
	if t.nodes++; t.nodes > MaxAliasNodes {
		return nil, fmt.Errorf("the scenario dict expands to more than %d values (a value shared too many times?)", MaxAliasNodes)
	}
	if level > MaxDepth {
		return nil, fmt.Errorf("the value nests deeper than %d levels", MaxDepth)
	}
	switch v.(type) {
	case *starlark.Dict, *starlark.List, *starlark.Set:
		if t.open[v] {
			return nil, fmt.Errorf("the %s contains itself (a cycle): the value would be endless", v.Type())
		}
		t.open[v] = true
		defer delete(t.open, v)
	}
	scalar := func(tag, val string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val, Line: pos.Line, Column: pos.Col}
	}
	switch v := v.(type) {
	case starlark.NoneType:
		return scalar("!!null", "null"), nil
	case starlark.Bool:
		return scalar("!!bool", strconv.FormatBool(bool(v))), nil
	case starlark.Int:
		return scalar("!!int", v.String()), nil
	case starlark.Float:
		return scalar("!!float", strconv.FormatFloat(float64(v), 'g', -1, 64)), nil
	case starlark.String:
		return scalar("!!str", string(v)), nil
	case *starlark.Dict:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: pos.Line, Column: pos.Col}
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict keys must be strings, not %s", kv[0].Type())
			}
			val, err := t.node(kv[1], level+1)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", string(k), err)
			}
			n.Content = append(n.Content, scalar("!!str", string(k)), val)
		}
		return n, nil
	case starlark.Indexable:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: pos.Line, Column: pos.Col}
		for i := 0; i < v.Len(); i++ {
			val, err := t.node(v.Index(i), level+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	}
	return nil, fmt.Errorf("a %s cannot be part of the scenario dict (use dicts, lists, strings, numbers, booleans)", v.Type())
}

// ToStarlark converts a YAML value (variables, tenant properties) into a
// Starlark value.
func ToStarlark(n *yaml.Node) starlark.Value {
	n = deref(n)
	if n == nil {
		return starlark.None
	}
	switch n.Kind {
	case yaml.MappingNode:
		d := starlark.NewDict(len(n.Content) / 2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			_ = d.SetKey(starlark.String(n.Content[i].Value), ToStarlark(n.Content[i+1]))
		}
		return d
	case yaml.SequenceNode:
		l := make([]starlark.Value, len(n.Content))
		for i, c := range n.Content {
			l[i] = ToStarlark(c)
		}
		return starlark.NewList(l)
	}
	switch n.Tag {
	case "!!null":
		return starlark.None
	case "!!bool":
		var b bool
		_ = n.Decode(&b)
		return starlark.Bool(b)
	case "!!int":
		var i int64
		if n.Decode(&i) == nil {
			return starlark.MakeInt64(i)
		}
	case "!!float":
		var f float64
		if n.Decode(&f) == nil && !math.IsNaN(f) {
			return starlark.Float(f)
		}
	}
	return starlark.String(n.Value)
}
