package stdlib

import (
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
)

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
