// Package catalog is the one description of the scenario language's
// built-ins: every call an action may make and the keys it takes, every
// attribute of a result, every field of `user`, every name a Starlark
// program sees, and the shape of every section of a YAML scenario.
//
// It is plain Go data. The validator, the template checker, the Starlark
// built-ins, `ntx schema` and docs/reference.md are all derived from it,
// and tests check that each of them agrees with it, so that a rule of the
// language is stated here once. It imports nothing of ntx, Starlark or
// YAML, so that every layer may read it.
package catalog

import (
	"slices"
	"strconv"
	"strings"
)

// Type is the kind of value a key takes.
type Type string

// The kinds of values keys take.
const (
	String    Type = "string"
	Int       Type = "int"
	Number    Type = "number"
	Bool      Type = "bool"
	Duration  Type = "duration" // "300ms", "2s", or a number of seconds
	Rate      Type = "rate"     // "100/s", "6000/m", or a number per second
	Enum      Type = "enum"     // one of Values
	URL       Type = "url"      // an absolute http(s) URL
	Address   Type = "address"  // host:port
	IP        Type = "ip"       // an IPv4 or IPv6 address
	Map       Type = "map"      // a mapping with keys of the user's choosing
	List      Type = "list"     // a list of Elem
	Object    Type = "object"   // a mapping with the keys of Obj
	Condition Type = "condition"
	Any       Type = "any"
)

// Value says what a key accepts.
type Value struct {
	Type Type
	// Values are the choices of an Enum.
	Values []string
	// Min is the least value of an Int, when HasMin.
	Min    int
	HasMin bool
	// Elem is what a List holds, or what a Map's values are (nil: any).
	Elem *Value
	// Obj is the mapping an Object is.
	Obj *Obj
	// OneOf lists the forms a value may take when there are several;
	// Type is then empty.
	OneOf []Value
	// Pattern is a regular expression a String must match, and Hint how
	// a message describes it ("an HTTP method such as GET").
	Pattern, Hint string
	// Template says whether a string holding {{ }} is accepted in place
	// of the value, to be evaluated when the action runs.
	Template bool
}

// Key is one key of a mapping, or one keyword argument of a call.
type Key struct {
	Name string
	Value
	Required bool
	// Default is the value when the key is absent, as a user writes it.
	Default string
	Doc     string
	// StarlarkOnly marks a keyword argument that YAML gives elsewhere
	// (an action's export: is beside with:, not in it).
	StarlarkOnly bool
	// Run marks a top-level key that configures a run rather than what
	// users do: a .star file's `scenario` dict may hold it too.
	Run bool
}

// Obj is a mapping with a fixed set of keys.
type Obj struct {
	// Name is how messages and the reference name the mapping.
	Name string
	Doc  string
	Keys []Key
	// ExactlyOne says that exactly one of the keys must be given.
	ExactlyOne bool
	// NeedOneOf lists groups of keys of which at least one must be
	// given (an ip pool needs id or name, and ips or ranges).
	NeedOneOf [][]string
}

// Names returns the names of o's keys, in order.
func (o *Obj) Names() []string { return KeyNames(o.Keys) }

// KeyNames returns the names of keys, in order.
func KeyNames(keys []Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

// Key returns the key called name.
func (o *Obj) Key(name string) (Key, bool) {
	for _, k := range o.Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Values returns the choices of the enum key called name; it panics if
// there is no such key, which is a mistake in the caller.
func (o *Obj) Values(name string) []string {
	k, ok := o.Key(name)
	if !ok || len(k.Values) == 0 {
		panic("catalog: " + o.Name + " has no enum key " + name)
	}
	return k.Values
}

// Default returns the default of the key called name, as written in the
// catalog; it panics if there is no such key, a mistake in the caller.
func (o *Obj) Default(name string) string {
	k, ok := o.Key(name)
	if !ok {
		panic("catalog: " + o.Name + " has no key " + name)
	}
	return k.Default
}

// Kind is the family a call belongs to.
type Kind string

// The kinds of calls.
const (
	HTTP   Kind = "http"
	TCP    Kind = "tcp"
	UDP    Kind = "udp"
	Sleep  Kind = "sleep"
	Custom Kind = "custom" // MODULE.FUNCTION from a listed module
	// DNSQuery is dns.query; WS is ws.request (and ws.connect).
	DNSQuery Kind = "dns"
	WS       Kind = "ws"
)

// Schemes are the URL schemes a call of kind k accepts in its url, or
// nil if it takes no URL.
func (k Kind) Schemes() []string {
	switch k {
	case HTTP:
		return []string{"http", "https"}
	case WS:
		return []string{"ws", "wss"}
	}
	return nil
}

// AcceptsScheme reports whether a call of kind k takes a url whose
// scheme is s, in lower case as url.Parse gives it. The validator, the
// built-ins and the transport (for redirects too) all ask here.
func (k Kind) AcceptsScheme(s string) bool { return slices.Contains(k.Schemes(), s) }

// Call is a value an action's `call:` may name, and the Starlark
// function it runs.
type Call struct {
	Name string // as written after call:
	Kind Kind
	// Method is the fixed HTTP method of a shorthand ("GET" for get and
	// http.get); empty for http.request, which takes with.method.
	Method string
	// Func is the Starlark function the call runs ("http.get" for get).
	Func string
	// Keys are the keys of with: and the keyword arguments of Func, in
	// Func's parameter order.
	Keys []Key
	Doc  string
	// MeasuredAs is the key that names what the call is measured under,
	// when it is not "name" (dns.query asks about a name).
	MeasuredAs string
}

// MeasureKey returns the key that names what c is measured under.
func (c *Call) MeasureKey() string {
	if c.MeasuredAs != "" {
		return c.MeasuredAs
	}
	return "name"
}

// WithKeys returns the keys a YAML action's with: may hold.
func (c *Call) WithKeys() []Key {
	var out []Key
	for _, k := range c.Keys {
		if !k.StarlarkOnly {
			out = append(out, k)
		}
	}
	return out
}

// WithNames returns the names of WithKeys.
func (c *Call) WithNames() []string { return KeyNames(c.WithKeys()) }

// Required returns the name of c's required key, or "".
func (c *Call) Required() string {
	for _, k := range c.Keys {
		if k.Required {
			return k.Name
		}
	}
	return ""
}

// Lookup returns the built-in call called name, or nil.
func Lookup(name string) *Call {
	for i := range Calls {
		if Calls[i].Name == name {
			return &Calls[i]
		}
	}
	return nil
}

// CallNames returns the name of every built-in call.
func CallNames() []string {
	out := make([]string, len(Calls))
	for i, c := range Calls {
		out[i] = c.Name
	}
	return out
}

// Func is a Starlark built-in function.
type Func struct {
	Name string // as called: "http.get", "check"
	// Params are the named parameters, in order; those before the first
	// optional one may also be given by position.
	Params []Key
	// Args documents *args when the function takes any number of
	// positional arguments; Kwargs documents **kwargs likewise.
	Args, Kwargs string
	Returns      string
	Doc          string
}

// Names returns the names of f's parameters.
func (f *Func) Names() []string { return KeyNames(f.Params) }

// LookupFunc returns the Starlark function called name, or nil.
func LookupFunc(name string) *Func {
	for i := range Funcs {
		if Funcs[i].Name == name {
			return &Funcs[i]
		}
	}
	return nil
}

// Attr is an attribute of a value scripts and templates read.
type Attr struct {
	Name string
	Type string
	Doc  string
}

// AttrNames returns the names of attrs, sorted.
func AttrNames(attrs []Attr) []string {
	out := make([]string, len(attrs))
	for i, a := range attrs {
		out[i] = a.Name
	}
	slices.Sort(out)
	return out
}

// NameKind says what a predeclared name is.
type NameKind string

// The kinds of predeclared names.
const (
	Module   NameKind = "module"
	Function NameKind = "function"
	Variable NameKind = "value"
)

// Name is a name every Starlark program sees without loading it.
type Name struct {
	Name    string
	Kind    NameKind
	Members []string // a module's members
	Doc     string
	// InTemplates says whether {{ }} templates may use the name as is.
	InTemplates bool
	// PerRun marks a name the runtime adds for each run (vars), rather
	// than the built-ins' fixed set.
	PerRun bool
}

// Reserved reports whether a compiled program cannot use name for a
// global of its own: a predeclared name, a root name of templates, or a
// name the compiler itself defines.
func Reserved(name string) bool {
	for _, n := range Predeclared {
		if n.Name == name {
			return true
		}
	}
	return slices.Contains(TemplateRoots, name) || slices.Contains(ProgramNames, name)
}

// Describe is how messages and the reference write the type of v:
// "duration", "line | close", "list of int".
func (v Value) Describe() string {
	switch {
	case len(v.OneOf) > 0:
		parts := make([]string, len(v.OneOf))
		for i, o := range v.OneOf {
			parts[i] = o.Describe()
		}
		return strings.Join(parts, " or ")
	case v.Type == Enum:
		return strings.Join(v.Values, " | ")
	case v.Type == List && v.Elem != nil:
		return "list of " + v.Elem.Describe()
	case v.Type == Map && v.Elem != nil:
		return "map of " + v.Elem.Describe()
	case v.Type == Object && v.Obj != nil:
		return "{" + strings.Join(v.Obj.Names(), ", ") + "}"
	case v.Type == Int && v.HasMin:
		return "int ≥ " + strconv.Itoa(v.Min)
	}
	return string(v.Type)
}
