package stdlib

import (
	"fmt"
	"unsafe"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// MaxNesting is how deeply containers may nest in a value that ntx
// formats (str, repr, print, log, fail, header and query values) or
// encodes as JSON (json.encode, a request's json body), and in a JSON
// text json.decode reads. Go's recursion over a value nested a million
// deep (a loop of `x = [x]` builds one in a second) overflows the stack,
// which no recover can catch, and Starlark's own formatting is quadratic
// in the depth (0.7 s for one str() at 10,000 levels, 7 ms at 1,000);
// 1,000 levels is far beyond any data a scenario sends.
const MaxNesting = 1000

// errTooDeep says what was refused and why.
func errTooDeep(fn string, v starlark.Value) error {
	return fmt.Errorf("%s: the %s nests containers more than %d levels deep", fn, v.Type(), MaxNesting)
}

// tooDeep reports whether containers nest in v more than MaxNesting
// levels deep. It walks v without recursion, once per container however
// often the container is shared, and treats a container that contains
// itself as the formatters do (they print it as "..."), so that it costs
// what formatting v costs at most.
func tooDeep(v starlark.Value) bool {
	switch v.(type) {
	case *starlark.List, starlark.Tuple, *starlark.Dict, *starlark.Set, *starlarkstruct.Struct:
	default:
		return false // no walk, no allocation, for a scalar
	}
	if shallow(v, 1, quickContainers) >= 0 {
		return false // the small values bodies and headers are made of
	}
	type frame struct {
		v      starlark.Value
		key    unsafe.Pointer
		kids   []starlark.Value // of a mapping or a struct
		i, n   int
		height int // of the container, from the children seen so far
	}
	heights := map[unsafe.Pointer]int{}
	onPath := map[unsafe.Pointer]bool{}
	var stack []frame
	// enter pushes v when it is a container not seen before, and says
	// whether the path to it is too long; a container seen before adds
	// its height to the path instead.
	enter := func(v starlark.Value) bool {
		key, n, kids := container(v)
		if key == nil {
			return false
		}
		if onPath[key] {
			return false // it contains itself
		}
		if h, ok := heights[key]; ok {
			if len(stack) > 0 {
				top := &stack[len(stack)-1]
				top.height = max(top.height, h+1)
			}
			return len(stack)+h > MaxNesting
		}
		if len(stack) >= MaxNesting {
			return true
		}
		onPath[key] = true
		stack = append(stack, frame{v: v, key: key, kids: kids, n: n, height: 1})
		return false
	}
	if enter(v) {
		return true
	}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.i < top.n {
			var kid starlark.Value
			if top.kids != nil {
				kid = top.kids[top.i]
			} else {
				kid = top.v.(starlark.Indexable).Index(top.i)
			}
			top.i++
			if enter(kid) {
				return true
			}
			continue
		}
		h, key := top.height, top.key
		stack = stack[:len(stack)-1]
		delete(onPath, key)
		heights[key] = h
		if len(stack) > 0 {
			up := &stack[len(stack)-1]
			up.height = max(up.height, h+1)
		}
	}
	return false
}

// quickDepth and quickContainers bound the walk shallow makes.
const (
	quickDepth      = 32
	quickContainers = 256
)

// shallow reports that v (at depth) nests at most quickDepth deep,
// looking at no more than budget containers, by returning the budget
// left; -1 means "not known" and tooDeep's full walk decides. It
// allocates nothing but a dict's key list; sets and structs are left to
// the full walk.
func shallow(v starlark.Value, depth, budget int) int {
	switch x := v.(type) {
	case *starlark.List, starlark.Tuple, *starlark.Dict:
		if budget--; depth > quickDepth || budget < 0 {
			return -1
		}
		switch x := x.(type) {
		case *starlark.List:
			for i := 0; i < x.Len() && budget >= 0; i++ {
				budget = shallow(x.Index(i), depth+1, budget)
			}
		case starlark.Tuple:
			for i := 0; i < len(x) && budget >= 0; i++ {
				budget = shallow(x[i], depth+1, budget)
			}
		case *starlark.Dict:
			for _, k := range x.Keys() {
				if budget = shallow(k, depth+1, budget); budget < 0 {
					break
				}
				e, _, _ := x.Get(k)
				budget = shallow(e, depth+1, budget)
			}
		}
		return budget
	case *starlark.Set, *starlarkstruct.Struct:
		return -1
	}
	return budget
}

// container says whether v holds other values the formatters and
// encoders visit: its identity, and its elements (n, by Index) or its
// keys, values and fields (kids).
func container(v starlark.Value) (key unsafe.Pointer, n int, kids []starlark.Value) {
	switch x := v.(type) {
	case *starlark.List:
		return unsafe.Pointer(x), x.Len(), nil
	case starlark.Tuple:
		if len(x) == 0 {
			return nil, 0, nil
		}
		// A tuple is a slice: its first element's address is its identity.
		return unsafe.Pointer(&x[0]), len(x), nil
	case *starlark.Dict:
		items := x.Items()
		kids = make([]starlark.Value, 0, 2*len(items))
		for _, kv := range items {
			kids = append(kids, kv[0], kv[1])
		}
		return unsafe.Pointer(x), len(kids), kids
	case *starlark.Set:
		kids = make([]starlark.Value, 0, x.Len())
		it := x.Iterate()
		defer it.Done()
		var e starlark.Value
		for it.Next(&e) {
			kids = append(kids, e)
		}
		return unsafe.Pointer(x), len(kids), kids
	case *starlarkstruct.Struct:
		for _, name := range x.AttrNames() {
			if a, err := x.Attr(name); err == nil && a != nil {
				kids = append(kids, a)
			}
		}
		return unsafe.Pointer(x), len(kids), kids
	}
	return nil, 0, nil
}

// The universe's formatters, wrapped with the nesting bound.
var (
	universeStr   = starlark.Universe["str"].(*starlark.Builtin)
	universeRepr  = starlark.Universe["repr"].(*starlark.Builtin)
	universePrint = starlark.Universe["print"].(*starlark.Builtin)
)

// boundedBuiltin is b, refusing arguments nested more than MaxNesting
// deep with an error where it is called.
func boundedBuiltin(b *starlark.Builtin) *starlark.Builtin {
	return starlark.NewBuiltin(b.Name(), func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		for _, a := range args {
			if tooDeep(a) {
				return nil, errTooDeep(b.Name(), a)
			}
		}
		return starlark.Call(thread, b, args, kwargs)
	})
}

// jsonModule is go.starlark.net's json module with the nesting bound on
// encode, encode_indent and decode.
func jsonModule() *starlarkstruct.Module {
	members := starlark.StringDict{}
	for k, v := range json.Module.Members {
		members[k] = v
	}
	for _, name := range []string{"encode", "encode_indent"} {
		members[name] = boundedBuiltin(json.Module.Members[name].(*starlark.Builtin))
	}
	decode := json.Module.Members["decode"].(*starlark.Builtin)
	members["decode"] = starlark.NewBuiltin(decode.Name(), func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 0 {
			if s, ok := starlark.AsString(args[0]); ok && jsonTooDeep(s) {
				return nil, fmt.Errorf("%s: the JSON text nests arrays and objects more than %d levels deep", decode.Name(), MaxNesting)
			}
		}
		return starlark.Call(thread, decode, args, kwargs)
	})
	return &starlarkstruct.Module{Name: json.Module.Name, Members: members}
}

var (
	jsonEncode = json.Module.Members["encode"].(*starlark.Builtin)
	jsonDecode = json.Module.Members["decode"].(*starlark.Builtin)
)

// callJSON calls go.starlark.net's json.encode or json.decode with one
// argument. They read nothing from the thread, and the HTTP calls that
// encode bodies and decode answers have none at hand, so the call goes
// straight to the builtin.
func callJSON(b *starlark.Builtin, arg starlark.Value) (starlark.Value, error) {
	return b.CallInternal(nil, starlark.Tuple{arg}, nil)
}

// decodeJSON decodes a response body as json.decode does; ok is false
// for a body that is not JSON or nests past MaxNesting.
func decodeJSON(body []byte) (v starlark.Value, ok bool) {
	if len(body) == 0 {
		return nil, false
	}
	s := string(body)
	if jsonTooDeep(s) {
		return nil, false
	}
	v, err := callJSON(jsonDecode, starlark.String(s))
	return v, err == nil
}

// jsonTooDeep reports whether the arrays and objects of a JSON text nest
// more than MaxNesting deep (brackets in strings do not count; an
// invalid text is the decoder's to reject).
func jsonTooDeep(s string) bool {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '{':
			if depth++; depth > MaxNesting {
				return true
			}
		case ']', '}':
			depth--
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		}
	}
	return false
}

// formatValue is v as Starlark's repr() writes it (a string quoted),
// for messages; a value nested too deep to format says so instead.
func formatValue(v starlark.Value) string {
	if tooDeep(v) {
		return fmt.Sprintf("<%s nested more than %d levels deep>", v.Type(), MaxNesting)
	}
	return v.String()
}
