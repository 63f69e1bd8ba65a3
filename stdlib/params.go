package stdlib

import (
	"fmt"
	"slices"

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
		p.specs = append(p.specs, spec)
		p.dests = append(p.dests, dest)
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

// pairs returns the name/pointer pairs for starlark.UnpackArgs.
func (p *params[T]) pairs(a *T) []any {
	out := make([]any, 0, 2*len(p.specs))
	for i, s := range p.specs {
		out = append(out, s, p.dests[i](a))
	}
	return out
}
