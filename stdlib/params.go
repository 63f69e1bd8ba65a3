package stdlib

import (
	"fmt"
	"slices"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// params are the keyword arguments of a built-in, taken from the
// catalog, each bound to where it is stored in the built-in's argument
// struct T. A built-in therefore accepts exactly the keys the catalog
// lists for it: starlark.UnpackArgs rejects any other, naming the
// nearest.
type params[T any] struct {
	specs []string // "url", "method?", ... as UnpackArgs wants them
	dests []func(*T) any
	names []string // the parameters' names, without "?"
	// required has bit i set when parameter i must be given.
	required uint64
}

// bindParams looks up the catalog's function fn and binds each of its
// parameters to fields[name]. A parameter with no field, or a field no
// function of the family uses, is a mistake in this package: it panics
// when the package loads, so that no test run can miss it.
func bindParams[T any](fn string, fields map[string]func(*T) any) params[T] {
	f := catalog.LookupFunc(fn)
	if f == nil {
		panic(fmt.Sprintf("stdlib: %s is not in the catalog", fn))
	}
	var p params[T]
	for _, k := range f.Params {
		dest, ok := fields[k.Name]
		if !ok {
			panic(fmt.Sprintf("stdlib: %s takes %s (catalog), which the built-in does not store", fn, k.Name))
		}
		spec := k.Name
		if !k.Required {
			spec += "?"
		}
		if k.Required {
			p.required |= 1 << len(p.specs)
		}
		p.specs = append(p.specs, spec)
		p.dests = append(p.dests, dest)
		p.names = append(p.names, k.Name)
	}
	if len(p.specs) > 64 {
		panic(fmt.Sprintf("stdlib: %s takes %d parameters; unpack handles 64", fn, len(p.specs)))
	}
	return p
}

// checkFieldsUsed panics if a stored field is a parameter of none of
// the functions fns: the built-in would keep a key the catalog lacks.
func checkFieldsUsed[T any](fields map[string]func(*T) any, fns ...string) {
	for name := range fields {
		used := false
		for _, fn := range fns {
			if slices.Contains(catalog.LookupFunc(fn).Names(), name) {
				used = true
			}
		}
		if !used {
			panic(fmt.Sprintf("stdlib: the built-ins %v store %s, which the catalog does not list", fns, name))
		}
	}
}

// unpack stores a call's arguments in a, as starlark.UnpackArgs would
// with pairs(a), without allocating: a built-in runs once per request,
// and UnpackArgs wants every name and pointer boxed in a new slice.
// Arguments of the common kinds (strings, ints, bools, any value) are
// stored here; anything else, and every mistake, goes through
// UnpackArgs from a's state on entry, so that the errors are its own.
func (p *params[T]) unpack(fn string, args starlark.Tuple, kwargs []starlark.Tuple, a *T) error {
	saved := *a
	if p.fastUnpack(args, kwargs, a) {
		return nil
	}
	*a = saved
	return starlark.UnpackArgs(fn, args, kwargs, p.pairs(a)...)
}

// fastUnpack is unpack's common case; false means "ask UnpackArgs".
func (p *params[T]) fastUnpack(args starlark.Tuple, kwargs []starlark.Tuple, a *T) bool {
	if len(args) > len(p.specs) {
		return false
	}
	var given uint64
	for i, v := range args {
		if !store(p.dests[i](a), v) {
			return false
		}
		given |= 1 << i
	}
	for _, kv := range kwargs {
		name, _ := kv[0].(starlark.String)
		i := slices.Index(p.names, string(name))
		if i < 0 || given&(1<<i) != 0 || !store(p.dests[i](a), kv[1]) {
			return false
		}
		given |= 1 << i
	}
	return given&p.required == p.required
}

// store sets *dest to v when dest is of a kind UnpackArg converts to
// simply and v fits it.
func store(dest any, v starlark.Value) bool {
	switch d := dest.(type) {
	case *starlark.Value:
		*d = v
	case *string:
		s, ok := v.(starlark.String)
		if !ok {
			return false
		}
		*d = string(s)
	case *bool:
		b, ok := v.(starlark.Bool)
		if !ok {
			return false
		}
		*d = bool(b)
	case *int:
		n, ok := v.(starlark.Int)
		if !ok {
			return false
		}
		i, ok := n.Int64()
		if !ok || int64(int(i)) != i {
			return false
		}
		*d = int(i)
	default:
		return false
	}
	return true
}

// pairs returns the name/pointer pairs for starlark.UnpackArgs.
func (p *params[T]) pairs(a *T) []any {
	out := make([]any, 0, 2*len(p.specs))
	for i, s := range p.specs {
		out = append(out, s, p.dests[i](a))
	}
	return out
}
