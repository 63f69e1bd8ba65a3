package stdlib

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// exportSpec is one entry of an action's export list (spec §4).
type exportSpec struct {
	typ, name, path, scope string
	def                    starlark.Value
}

func parseExports(fn string, v starlark.Value) ([]exportSpec, error) {
	if v == nil || v == starlark.None {
		return nil, nil
	}
	list, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: export must be a list of dicts, not %s", fn, v.Type())
	}
	out := make([]exportSpec, 0, list.Len())
	for i := 0; i < list.Len(); i++ {
		d, ok := list.Index(i).(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: export[%d] must be a dict, not %s", fn, i, list.Index(i).Type())
		}
		e := exportSpec{typ: catalog.Export.Default("type"), scope: catalog.Export.Default("scope"), def: starlark.None}
		for _, kv := range d.Items() {
			k, _ := starlark.AsString(kv[0])
			key, known := catalog.Export.Key(k)
			switch {
			case !known:
				return nil, fmt.Errorf("%s: export[%d] has unknown key %q", fn, i, k)
			case key.Type == catalog.Any: // default, equals
				e.def = kv[1]
				continue
			}
			s, ok := starlark.AsString(kv[1])
			if !ok {
				return nil, fmt.Errorf("%s: export[%d].%s must be a string", fn, i, k)
			}
			switch k {
			case "type":
				e.typ = s
			case "name":
				e.name = s
			case "path":
				e.path = s
			case "scope":
				e.scope = s
			}
		}
		if e.name == "" {
			return nil, fmt.Errorf("%s: export[%d] needs a name", fn, i)
		}
		if e.path == "" {
			e.path = e.name
		}
		if !slices.Contains(catalog.Export.Values("type"), e.typ) {
			return nil, fmt.Errorf("%s: export %q has unknown type %q", fn, e.name, e.typ)
		}
		if !slices.Contains(catalog.Export.Values("scope"), e.scope) {
			return nil, fmt.Errorf("%s: export %q has unknown scope %q", fn, e.name, e.scope)
		}
		out = append(out, e)
	}
	return out, nil
}

// applyExports sets res's exports. content reads from content(), the
// JSON body or a custom action's fields. It returns the first failed
// assertion as a message, or "".
func applyExports(sess *Session, res *Result, specs []exportSpec, content func() starlark.Value) string {
	failed := ""
	for _, e := range specs {
		var v starlark.Value = starlark.None
		switch e.typ {
		case "content":
			if x, ok := lookupPath(content(), e.path); ok {
				v = x
			} else {
				v = e.def
			}
		case "header":
			if h := res.header().Get(e.path); h != "" {
				v = starlark.String(h)
			} else {
				v = e.def
			}
		case "status":
			if res.StatusVal != 0 {
				v = starlark.MakeInt(res.StatusVal)
			}
		case "variable":
			v = e.def
		case "assert":
			got, ok := lookupPath(content(), e.path)
			if !ok {
				got = starlark.None
			}
			v = got
			if eq, err := starlark.Equal(got, e.def); (err != nil || !eq) && failed == "" {
				failed = fmt.Sprintf("assert %s: %s is %s, want %s", e.name, e.path, formatValue(got), formatValue(e.def))
			}
		}
		if res.Exports == nil {
			res.Exports = map[string]starlark.Value{}
		}
		res.Exports[e.name] = v
		switch e.scope {
		case "user":
			sess.User.SetExport(e.name, v)
		case "workbook":
			sess.Vars.Set(e.name, v)
		}
	}
	return failed
}

// lookupPath walks a dotted path ("items.0.id") through dicts, lists
// and structs.
func lookupPath(v starlark.Value, path string) (starlark.Value, bool) {
	if v == nil {
		return nil, false
	}
	for rest, more := path, true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, ".")
		switch x := v.(type) {
		case *starlark.Dict:
			next, found, err := x.Get(starlark.String(seg))
			if err != nil || !found {
				return nil, false
			}
			v = next
		case starlark.Indexable:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= x.Len() {
				return nil, false
			}
			v = x.Index(i)
		case starlark.HasAttrs:
			next, err := x.Attr(seg)
			if err != nil || next == nil {
				return nil, false
			}
			v = next
		default:
			return nil, false
		}
	}
	return v, true
}
