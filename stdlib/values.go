package stdlib

import (
	"fmt"
	"os"
	"slices"
	"sort"
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
	names := slices.Clone(userFieldNames)
	for k := range u.exports {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
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

// envValue is `env`: the process environment, read-only.
type envValue struct{}

// Env is the `env` value.
var Env starlark.Value = envValue{}

func (envValue) String() string        { return "<env>" }
func (envValue) Type() string          { return "env" }
func (envValue) Freeze()               {}
func (envValue) Truth() starlark.Bool  { return true }
func (envValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: env") }

// Attr returns the environment variable, or None when it is not set.
func (envValue) Attr(name string) (starlark.Value, error) {
	if v, ok := os.LookupEnv(name); ok {
		return starlark.String(v), nil
	}
	return starlark.None, nil
}

func (envValue) AttrNames() []string { return nil }

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
