package scenario

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// FromStarlark decodes the `scenario` dict v of a .star file, with every
// value placed at pos (where `scenario` is assigned). FromStarlarkFile
// places each value where the file writes it.
func FromStarlark(file string, pos Pos, v starlark.Value) (*Scenario, error) {
	return fromStarlark(file, pos, nil, nil, nil, v)
}

// FromStarlarkFile decodes the `scenario` dict v of the .star file f. The
// dict is turned into YAML nodes and read by the same decoder as YAML
// files, so both accept exactly the same keys and values, the workbook
// nesting included. Each node is placed where f writes its value: the
// assignment to `scenario` is followed into dict and list literals,
// dict(k = v) calls and names assigned at the top level, so that an
// error is reported at the offending entry. Every error is reported.
func FromStarlarkFile(file string, f *syntax.File, v starlark.Value) (*Scenario, error) {
	pos := Pos{File: file, Line: 1, Col: 1}
	defs := map[string]syntax.Expr{}
	sets := map[syntax.Expr]map[string][2]syntax.Expr{}
	var rhs syntax.Expr
	if f != nil {
		for _, stmt := range f.Stmts {
			a, ok := stmt.(*syntax.AssignStmt)
			if !ok {
				continue
			}
			if ix, ok := a.LHS.(*syntax.IndexExpr); ok && a.Op == syntax.EQ {
				// NAME["key"] = value: an entry of the dict NAME holds.
				id, isID := ix.X.(*syntax.Ident)
				k, isLit := ix.Y.(*syntax.Literal)
				if isID && isLit && k.Token == syntax.STRING && defs[id.Name] != nil {
					d := defs[id.Name]
					if sets[d] == nil {
						sets[d] = map[string][2]syntax.Expr{}
					}
					sets[d][k.Value.(string)] = [2]syntax.Expr{ix.Y, a.RHS}
				}
				continue
			}
			id, ok := a.LHS.(*syntax.Ident)
			if !ok {
				continue
			}
			if a.Op != syntax.EQ {
				delete(defs, id.Name) // x += ...: its value is no literal
				continue
			}
			defs[id.Name] = a.RHS
			if id.Name == "scenario" {
				rhs = a.RHS
				pos = Pos{File: file, Line: int(id.NamePos.Line), Col: int(id.NamePos.Col)}
			}
		}
	}
	return fromStarlark(file, pos, rhs, defs, sets, v)
}

func fromStarlark(file string, pos Pos, rhs syntax.Expr, defs map[string]syntax.Expr, sets map[syntax.Expr]map[string][2]syntax.Expr, v starlark.Value) (*Scenario, error) {
	d := &decoder{file: file}
	s := &Scenario{File: file}
	t := &toNoder{d: d, pos: pos, defs: defs, sets: sets, open: map[starlark.Value]bool{}}
	// scenario["flows"] holds functions, which are no data: it is read
	// on its own, and the rest of the dict as a YAML file's keys.
	if dict, ok := v.(*starlark.Dict); ok {
		if fv, found, _ := dict.Get(starlark.String("flows")); found {
			rest := starlark.NewDict(dict.Len())
			for _, kv := range dict.Items() {
				if kv[0] != starlark.String("flows") {
					_ = rest.SetKey(kv[0], kv[1])
				}
			}
			v = rest
			fe := t.entries(rhs)["flows"]
			t.flows(s, fv, fe[1], t.at(fe[0], pos))
			d.weightSum(s)
		}
	}
	n, err := t.node(v, rhs, pos, "", 1)
	if err != nil {
		at := pos
		var be *budgetError
		if errors.As(err, &be) {
			at = be.pos
		}
		d.errs.Add(at, "scenario: %v", err)
		return nil, d.errs.Err()
	}
	top := d.fields(n, "the scenario dict", append(slices.Clone(RunKeys), "workbook")...)
	d.config(s, top)
	if wb, ok := top["workbook"]; ok {
		var keys []string // the workbook keys that configure a run
		for _, k := range catalog.Workbook.Keys {
			if k.Run {
				keys = append(keys, k.Name)
			}
		}
		d.workbook(s, top, wb, keys...)
	}
	// Checked even when something did not decode, as a YAML file is, so
	// that every problem is reported in one go.
	val := &validator{s: s, d: d}
	val.ids()
	val.datasets()
	val.httpTLS()
	val.pools()
	val.load()
	val.thresholds(false)
	return s, d.errs.Err()
}

// budgetError is a value over the budgets, at the position of the
// expression that wrote it.
type budgetError struct {
	pos Pos
	err error
}

func (e *budgetError) Error() string { return e.err.Error() }

// toNoder converts a Starlark value into YAML nodes within the budgets a
// YAML file has: a list or dict that contains itself would be endless,
// and values shared many times over (a = [x] * 9; b = [a] * 9; ...)
// would expand like a YAML alias bomb.
type toNoder struct {
	d    *decoder
	pos  Pos
	defs map[string]syntax.Expr // top-level assignments, by name
	// sets holds the NAME["key"] = value statements of the top level, by
	// the expression NAME was assigned when they ran.
	sets  map[syntax.Expr]map[string][2]syntax.Expr
	open  map[starlark.Value]bool // lists and dicts being converted
	nodes int
}

// at is where e starts, or def if e is nil.
func (t *toNoder) at(e syntax.Expr, def Pos) Pos {
	if e == nil {
		return def
	}
	start, _ := e.Span()
	return Pos{File: t.pos.File, Line: int(start.Line), Col: int(start.Col)}
}

// literal follows e through parentheses and top-level names to the
// expression that wrote the value, or nil.
func (t *toNoder) literal(e syntax.Expr) syntax.Expr {
	for hops := 0; e != nil && hops < 16; hops++ {
		switch x := e.(type) {
		case *syntax.ParenExpr:
			e = x.X
		case *syntax.Ident:
			e = t.defs[x.Name]
		default:
			return e
		}
	}
	return nil
}

// entries returns the key and value expressions of the dict e writes,
// by key.
func (t *toNoder) entries(e syntax.Expr) map[string][2]syntax.Expr {
	out := map[string][2]syntax.Expr{}
	lit := t.literal(e)
	defer func() {
		for k, en := range t.sets[lit] {
			out[k] = en
		}
	}()
	switch x := lit.(type) {
	case *syntax.DictExpr:
		for _, it := range x.List {
			en, ok := it.(*syntax.DictEntry)
			if !ok {
				continue
			}
			if k, ok := en.Key.(*syntax.Literal); ok && k.Token == syntax.STRING {
				out[k.Value.(string)] = [2]syntax.Expr{en.Key, en.Value}
			}
		}
	case *syntax.CallExpr:
		if fn, ok := x.Fn.(*syntax.Ident); ok && fn.Name == "dict" {
			for _, arg := range x.Args {
				if b, ok := arg.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
					if k, ok := b.X.(*syntax.Ident); ok {
						out[k.Name] = [2]syntax.Expr{b.X, b.Y}
					}
				}
			}
		}
	}
	return out
}

// elems returns the element expressions of the list or tuple e writes,
// if it writes n of them.
func (t *toNoder) elems(e syntax.Expr, n int) []syntax.Expr {
	var list []syntax.Expr
	switch x := t.literal(e).(type) {
	case *syntax.ListExpr:
		list = x.List
	case *syntax.TupleExpr:
		list = x.List
	}
	if len(list) != n {
		return nil
	}
	return list
}

// node converts v, written by e (nil if unknown) or else within the
// value at def. path names v in messages.
func (t *toNoder) node(v starlark.Value, e syntax.Expr, def Pos, path string, level int) (*yaml.Node, error) {
	pos := t.at(t.literal(e), t.at(e, def))
	if t.nodes++; t.nodes > MaxAliasNodes {
		return nil, &budgetError{pos, fmt.Errorf("the scenario dict expands to more than %d values (a value shared too many times?)", MaxAliasNodes)}
	}
	if level > MaxDepth {
		return nil, &budgetError{pos, fmt.Errorf("the value nests deeper than %d levels", MaxDepth)}
	}
	switch v.(type) {
	case *starlark.Dict, *starlark.List, *starlark.Set:
		if t.open[v] {
			// At the reference that closes the cycle, not the definition.
			return nil, &budgetError{t.at(e, def), fmt.Errorf("the %s contains itself (a cycle): the value would be endless", v.Type())}
		}
		t.open[v] = true
		defer delete(t.open, v)
	}
	scalarAt := func(p Pos, tag, val string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: val, Line: p.Line, Column: p.Col}
	}
	scalar := func(tag, val string) *yaml.Node { return scalarAt(pos, tag, val) }
	wrap := func(err error, step string) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s: %w", step, err)
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
		written := t.entries(e)
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				t.d.errs.Add(pos, "%sdict keys must be strings, not %s", prefix(path), kv[0].Type())
				continue
			}
			ex := written[string(k)]
			kpos := t.at(ex[0], pos)
			val, err := t.node(kv[1], ex[1], kpos, join(path, string(k)), level+1)
			if err != nil {
				return nil, wrap(err, string(k))
			}
			n.Content = append(n.Content, scalarAt(kpos, "!!str", string(k)), val)
		}
		return n, nil
	case starlark.Indexable:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: pos.Line, Column: pos.Col}
		written := t.elems(e, v.Len())
		for i := 0; i < v.Len(); i++ {
			var ex syntax.Expr
			if written != nil {
				ex = written[i]
			}
			val, err := t.node(v.Index(i), ex, pos, fmt.Sprintf("%s[%d]", path, i), level+1)
			if err != nil {
				return nil, wrap(err, fmt.Sprintf("[%d]", i))
			}
			n.Content = append(n.Content, val)
		}
		return n, nil
	}
	t.d.errs.Add(pos, "%sa %s cannot be part of the scenario dict (use dicts, lists, strings, numbers, booleans)", prefix(path), v.Type())
	return scalar("!!null", "null"), nil
}

// flows decodes scenario["flows"], the user mix of a .star file (spec
// §4.3), written by e (nil if unknown) at def: a list of dicts with fn,
// weight and id. A fn given by name is resolved by the runtime, which
// has the file's globals.
func (t *toNoder) flows(s *Scenario, v starlark.Value, e syntax.Expr, def Pos) {
	d := t.d
	listPos := t.at(t.literal(e), t.at(e, def))
	list, ok := v.(*starlark.List)
	if !ok {
		if tu, isTuple := v.(starlark.Tuple); isTuple {
			list = starlark.NewList(tu)
		} else {
			d.errs.Add(listPos, "flows must be a list of {\"fn\": FUNCTION, \"weight\": N}, not %s", TypeName(v))
			return
		}
	}
	if list.Len() == 0 {
		d.errs.Add(listPos, "flows is an empty list: give at least one {\"fn\": FUNCTION, \"weight\": N}")
		return
	}
	elems := t.elems(e, list.Len())
	for i := 0; i < list.Len(); i++ {
		var ee syntax.Expr
		if elems != nil {
			ee = elems[i]
		}
		at := t.at(t.literal(ee), t.at(ee, listPos))
		entry, ok := list.Index(i).(*starlark.Dict)
		if !ok {
			d.errs.Add(at, "flows[%d] must be a dict such as {\"fn\": browse, \"weight\": 80}, not %s", i, TypeName(list.Index(i)))
			continue
		}
		written := t.entries(ee)
		keyAt := func(k string) Pos { return t.at(written[k][1], at) }
		w := &Workflow{Weight: 1, Pos: at, IDPos: at, FnPos: at}
		for _, kv := range entry.Items() {
			k, isStr := kv[0].(starlark.String)
			if !isStr {
				d.errs.Add(at, "flows[%d]: dict keys must be strings, not %s", i, kv[0].Type())
				continue
			}
			names := catalog.Flow.Names()
			if !slices.Contains(names, string(k)) {
				d.errs.Add(t.at(written[string(k)][0], at), "unknown key %q in flows[%d]%s", string(k), i, didYouMean(string(k), names))
			}
		}
		fn, hasFn, _ := entry.Get(starlark.String("fn"))
		if !hasFn {
			fn = nil
		}
		name := ""
		switch f := fn.(type) {
		case nil:
			d.errs.Add(at, "flows[%d] needs fn: the flow function (def NAME(user):), or its name", i)
		case starlark.String:
			name = string(f)
			w.Fn, w.FnPos = f, keyAt("fn")
		case starlark.Callable:
			name = f.Name()
			w.Fn, w.FnPos = f, keyAt("fn")
		default:
			d.errs.Add(keyAt("fn"), "flows[%d]: fn must be a function (def NAME(user):) or the name of one, not %s", i, TypeName(fn))
		}
		if idv, found, _ := entry.Get(starlark.String("id")); found {
			w.IDPos = keyAt("id")
			id, isStr := idv.(starlark.String)
			switch {
			case !isStr:
				d.errs.Add(w.IDPos, "flows[%d]: id must be a string, not %s", i, TypeName(idv))
			case !idPattern.MatchString(string(id)):
				d.errs.Add(w.IDPos, "flows[%d]: id %q may hold only letters, digits, '_', '-' and '.', and must start with a letter or '_'", i, string(id))
			default:
				w.ID = string(id)
			}
		} else if name == "lambda" {
			d.errs.Add(w.FnPos, "flows[%d]: a lambda has no name: give the flow an id", i)
		} else {
			w.ID = name
		}
		if wv, found, _ := entry.Get(starlark.String("weight")); found {
			wpos := keyAt("weight")
			var f float64
			var isNum bool
			switch x := wv.(type) {
			case starlark.Int:
				f, isNum = float64(x.Float()), true
			case starlark.Float:
				f, isNum = float64(x), true
			}
			switch {
			case !isNum:
				d.errs.Add(wpos, "flows[%d]: weight must be a number above 0, not %s", i, TypeName(wv))
			case !(f > 0) || math.IsInf(f, 0):
				d.errs.Add(wpos, "flows[%d]: weight must be a number above 0, not %s", i, wv.String())
			default:
				w.Weight = f
			}
		}
		s.Workflows = append(s.Workflows, w)
	}
}

// TypeName names the type of v with its article: "an int", "a string".
func TypeName(v starlark.Value) string {
	t := v.Type()
	if strings.ContainsRune("aeiouAEIOU", rune(t[0])) {
		return "an " + t
	}
	return "a " + t
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func prefix(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
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
