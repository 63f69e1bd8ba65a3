package stdlib

import (
	"fmt"
	"math/big"
	"time"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// toGo converts a Starlark value into plain Go values for encoding/json.
func toGo(v starlark.Value) (any, error) {
	if tooDeep(v) {
		return nil, fmt.Errorf("the %s nests containers more than %d levels deep", v.Type(), MaxNesting)
	}
	return toGoWalk(v)
}

func toGoWalk(v starlark.Value) (any, error) {
	switch v := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			return i, nil
		}
		return (*big.Int)(v.BigInt()), nil
	case starlark.Float:
		return float64(v), nil
	case starlark.String:
		return string(v), nil
	case *starlark.Dict:
		m := make(map[string]any, v.Len())
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("JSON object keys must be strings, not %s", kv[0].Type())
			}
			x, err := toGoWalk(kv[1])
			if err != nil {
				return nil, err
			}
			m[string(k)] = x
		}
		return m, nil
	case starlark.Bytes:
		// Indexable, but each element is bytes again: it has no end.
		return nil, fmt.Errorf("cannot convert bytes to JSON")
	case starlark.Indexable: // list, tuple
		out := make([]any, v.Len())
		for i := range out {
			x, err := toGoWalk(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case starlark.HasAttrs: // struct
		m := map[string]any{}
		for _, name := range v.AttrNames() {
			a, err := v.Attr(name)
			if err != nil || a == nil {
				continue
			}
			if _, isFn := a.(starlark.Callable); isFn {
				continue
			}
			x, err := toGoWalk(a)
			if err != nil {
				return nil, err
			}
			m[name] = x
		}
		return m, nil
	}
	return nil, fmt.Errorf("cannot convert %s to JSON", v.Type())
}

// str is Starlark's str(): strings as they are, the rest formatted; a
// value nested too deep to format (see MaxNesting) says so instead.
func str(v starlark.Value) string {
	if s, ok := v.(starlark.String); ok {
		return string(s)
	}
	return formatValue(v)
}

// durationArg reads a duration given as "300ms" or a number of seconds,
// with the parser YAML scenarios use.
func durationArg(fn, name string, v starlark.Value, def time.Duration) (time.Duration, error) {
	var d time.Duration
	var err error
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return def, nil
	case starlark.String:
		d, err = catalog.ParseDuration(string(v))
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(v)
		d, err = catalog.Seconds(f)
	default:
		return 0, fmt.Errorf("%s: %s must be a duration string or a number of seconds, not %s", fn, name, v.Type())
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %v", fn, name, err)
	}
	return d, nil
}

// optString reads an optional string argument where None means absent.
func optString(fn, name string, v starlark.Value) (string, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return "", nil
	case starlark.String:
		return string(v), nil
	}
	return "", fmt.Errorf("%s: %s must be a string, not %s", fn, name, v.Type())
}
