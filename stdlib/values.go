package stdlib

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// User is the `user` value: who is running the iteration. Only its own
// thread reads it; the runtime updates it between iterations.
type User struct {
	ID          int
	Iteration   int
	Tenant      starlark.Value // a struct with id and the tenant's properties, or None
	AllocatedIP string         // "" when the user holds no address
	Data        *starlark.Dict // per-user scratch space that survives iterations; made on first use
	exports     map[string]starlark.Value
}

// NewUser returns user number id (1-based).
func NewUser(id int, tenant starlark.Value) *User {
	if tenant == nil {
		tenant = starlark.None
	}
	return &User{ID: id, Tenant: tenant}
}

var _ starlark.HasAttrs = (*User)(nil)

// User, Vars and env implement starlark.Value and starlark.HasAttrs.

func (u *User) String() string        { return fmt.Sprintf("<user %d>", u.ID) }
func (u *User) Type() string          { return "user" }
func (u *User) Freeze()               {}
func (u *User) Truth() starlark.Bool  { return true }
func (u *User) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: user") }

// Attr implements starlark.HasAttrs.
func (u *User) Attr(name string) (starlark.Value, error) {
	switch name {
	case "id":
		return starlark.MakeInt(u.ID), nil
	case "iteration":
		return starlark.MakeInt(u.Iteration), nil
	case "tenant":
		return u.Tenant, nil
	case "allocated_ip":
		if u.AllocatedIP == "" {
			return starlark.None, nil
		}
		return starlark.String(u.AllocatedIP), nil
	case "cookies":
		return cookiesValue, nil
	case "data":
		if u.Data == nil {
			u.Data = new(starlark.Dict)
		}
		return u.Data, nil
	}
	if v, ok := u.exports[name]; ok {
		return v, nil
	}
	return starlark.None, nil // a user-scoped export not set yet
}

// userFieldNames are the fields every user has (the catalog's).
var userFieldNames = catalog.AttrNames(catalog.UserFields)

// AttrNames implements starlark.HasAttrs.
func (u *User) AttrNames() []string {
	return withExports(userFieldNames, u.exports)
}

// SetExport stores a user-scoped export (user.NAME).
func (u *User) SetExport(name string, v starlark.Value) {
	if u.exports == nil {
		u.exports = map[string]starlark.Value{}
	}
	u.exports[name] = v
}

// Vars is the run-wide `vars` namespace, shared by every user. Values are
// frozen when stored, so any thread may read them; the last write wins.
type Vars struct {
	mu sync.RWMutex
	m  map[string]starlark.Value
}

// NewVars returns a namespace holding initial.
func NewVars(initial starlark.StringDict) *Vars {
	v := &Vars{m: map[string]starlark.Value{}}
	for k, x := range initial {
		x.Freeze()
		v.m[k] = x
	}
	return v
}

// Set stores a value, freezing it.
func (v *Vars) Set(name string, x starlark.Value) {
	x.Freeze()
	v.mu.Lock()
	v.m[name] = x
	v.mu.Unlock()
}

func (v *Vars) String() string        { return "<vars>" }
func (v *Vars) Type() string          { return "vars" }
func (v *Vars) Freeze()               {}
func (v *Vars) Truth() starlark.Bool  { return true }
func (v *Vars) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: vars") }

// Attr returns the variable, or None if it was never set.
func (v *Vars) Attr(name string) (starlark.Value, error) {
	v.mu.RLock()
	x, ok := v.m[name]
	v.mu.RUnlock()
	if !ok {
		return starlark.None, nil
	}
	return x, nil
}

// AttrNames lists the variables set so far.
func (v *Vars) AttrNames() []string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	names := make([]string, 0, len(v.m))
	for k := range v.m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// EnvPrefix starts the names of environment variables every scenario
// may read; others must be named with -e (Options.Env).
const EnvPrefix = "NTX_"

// envValue is `env`: the environment variables a scenario may read,
// read-only. Scenarios are often written by someone else, so the process
// environment (tokens, keys, a cloud session) is not theirs to read: only
// variables named when the run starts and those starting with NTX_.
type envValue struct {
	named map[string]*string // a value given as NAME=VALUE, or nil: read NAME from the process
}

// Env is the `env` value that exposes only NTX_ variables.
var Env starlark.Value = envValue{}

// NewEnv returns an `env` that also exposes the variables given, each as
// NAME (its value in the process environment) or NAME=VALUE.
func NewEnv(vars []string) (starlark.Value, error) {
	e := envValue{named: map[string]*string{}}
	for _, v := range vars {
		name, val, hasVal := strings.Cut(v, "=")
		if name == "" || strings.ContainsAny(name, " \t\n") {
			return nil, fmt.Errorf("env: %q is not NAME or NAME=VALUE", v)
		}
		e.named[name] = nil
		if hasVal {
			e.named[name] = &val
		}
	}
	return e, nil
}

func (envValue) String() string        { return "<env>" }
func (envValue) Type() string          { return "env" }
func (envValue) Freeze()               {}
func (envValue) Truth() starlark.Bool  { return true }
func (envValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: env") }

// Attr returns the environment variable, or None when it is exposed but
// not set. A variable that is not exposed is an error that says how to
// pass it, rather than a None that would fail somewhere later.
func (e envValue) Attr(name string) (starlark.Value, error) {
	given, named := e.named[name]
	switch {
	case given != nil:
		return starlark.String(*given), nil
	case named || strings.HasPrefix(name, EnvPrefix):
		if v, ok := os.LookupEnv(name); ok {
			return starlark.String(v), nil
		}
		return starlark.None, nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("env.%s: scenarios see only variables named with -e %s (or -e %s=VALUE) and those starting with %s", name, name, name, EnvPrefix))
}

// AttrNames lists the variables given by name; NTX_ ones are not listed.
func (e envValue) AttrNames() []string {
	names := make([]string, 0, len(e.named))
	for k := range e.named {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Reset replaces every variable with initial, for a new run.
func (v *Vars) Reset(initial starlark.StringDict) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m = map[string]starlark.Value{}
	for k, x := range initial {
		x.Freeze()
		v.m[k] = x
	}
}
