package stdlib

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"
)

// toGo converts a Starlark value into plain Go values for encoding/json.
func toGo(v starlark.Value) (any, error) {
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
			x, err := toGo(kv[1])
			if err != nil {
				return nil, err
			}
			m[string(k)] = x
		}
		return m, nil
	case starlark.Indexable: // list, tuple
		out := make([]any, v.Len())
		for i := range out {
			x, err := toGo(v.Index(i))
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
			x, err := toGo(a)
			if err != nil {
				return nil, err
			}
			m[name] = x
		}
		return m, nil
	}
	return nil, fmt.Errorf("cannot convert %s to JSON", v.Type())
}

// str is Starlark's str(): strings as they are, the rest formatted.
func str(v starlark.Value) string {
	if s, ok := v.(starlark.String); ok {
		return string(s)
	}
	return v.String()
}

// durationArg reads a duration given as "300ms" or a number of seconds.
func durationArg(fn, name string, v starlark.Value, def time.Duration) (time.Duration, error) {
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return def, nil
	case starlark.String:
		s := strings.TrimSpace(string(v))
		if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
			return time.Duration(f * float64(time.Second)), nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("%s: %s=%q is not a duration (write 300ms or 2s)", fn, name, s)
		}
		return d, nil
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(v)
		if f < 0 {
			return 0, fmt.Errorf("%s: %s must not be negative", fn, name)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("%s: %s must be a duration string or a number of seconds, not %s", fn, name, v.Type())
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
