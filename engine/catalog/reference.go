package catalog

//go:generate go run ./internal/gen ../../docs

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// The generated parts of docs/reference.md sit between a line
// "<!-- generated: NAME -->" and the next "<!-- end generated -->";
// UpdateReference rewrites what is between them from the catalog and
// leaves the rest, written by hand, alone.
const (
	beginMark = "<!-- generated: "
	endMark   = "<!-- end generated -->"
)

// referenceParts renders each generated part of the reference by name.
var referenceParts = map[string]func(*strings.Builder){
	"sections":  sectionsPart,
	"calls":     callsPart,
	"starlark":  starlarkPart,
	"results":   resultsPart,
	"functions": functionsPart,
	"flows":     flowsPart,
}

// UpdateReference returns doc with every generated part rewritten from
// the catalog. A marker naming no part, or one left open, is an error.
func UpdateReference(doc []byte) ([]byte, error) {
	var out bytes.Buffer
	lines := strings.SplitAfter(string(doc), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		out.WriteString(line)
		name, ok := strings.CutPrefix(strings.TrimSpace(line), beginMark)
		if !ok {
			continue
		}
		name = strings.TrimSpace(strings.TrimSuffix(name, "-->"))
		part, ok := referenceParts[name]
		if !ok {
			return nil, fmt.Errorf("line %d: no generated part is called %q", i+1, name)
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != endMark {
			end++
		}
		if end == len(lines) {
			return nil, fmt.Errorf("line %d: generated part %q has no %s", i+1, name, endMark)
		}
		var b strings.Builder
		b.WriteString("\n")
		part(&b)
		b.WriteString("\n")
		out.WriteString(b.String())
		out.WriteString(lines[end])
		i = end
	}
	return out.Bytes(), nil
}

// anchor is the HTML anchor of an object's heading.
func anchor(o *Obj) string { return "key-" + defName(o) }

// typeText is how the reference writes a value's type, linking objects.
func typeText(v Value) string {
	switch {
	case len(v.OneOf) > 0:
		parts := make([]string, len(v.OneOf))
		for i, o := range v.OneOf {
			parts[i] = typeText(o)
		}
		return strings.Join(parts, " or ")
	case v.Type == Enum:
		vals := make([]string, len(v.Values))
		for i, x := range v.Values {
			vals[i] = "`" + x + "`"
		}
		return strings.Join(vals, " \\| ")
	case v.Type == List && v.Elem != nil:
		return "list of " + typeText(*v.Elem)
	case v.Type == Map && v.Elem != nil:
		return "map of " + typeText(*v.Elem)
	case v.Type == Object:
		return fmt.Sprintf("[%s](#%s)", defName(v.Obj), anchor(v.Obj))
	}
	return strings.ReplaceAll(v.Describe(), "|", "\\|")
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}

func keyTable(b *strings.Builder, keys []Key, starlarkNote bool) {
	b.WriteString("| key | type | default | meaning |\n|---|---|---|---|\n")
	for _, k := range keys {
		name := "`" + k.Name + "`"
		if k.Required {
			name += " (required)"
		}
		doc := k.Doc
		if starlarkNote && k.StarlarkOnly {
			doc += " (Starlark only: in YAML, export: sits beside with:)"
		}
		def := k.Default
		if def != "" && !strings.Contains(def, " ") {
			def = "`" + def + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, typeText(k.Value), cell(def), cell(doc))
	}
}

// objectPaths returns where each object sits in a scenario ("load.arrival"),
// found by walking the keys from the top.
func objectPaths() map[*Obj][]string {
	paths := map[*Obj][]string{Scenario: {"(top level)"}}
	var walk func(prefix string, v Value)
	walk = func(prefix string, v Value) {
		switch {
		case len(v.OneOf) > 0:
			for _, o := range v.OneOf {
				walk(prefix, o)
			}
		case v.Type == List && v.Elem != nil:
			walk(prefix+"[]", *v.Elem)
		case v.Type == Object:
			if slices.Contains(paths[v.Obj], prefix) {
				return
			}
			paths[v.Obj] = append(paths[v.Obj], prefix)
			for _, k := range v.Obj.Keys {
				walk(prefix+"."+k.Name, k.Value)
			}
		}
	}
	for _, k := range Scenario.Keys {
		walk(k.Name, k.Value)
	}
	for _, c := range Calls {
		for _, k := range c.WithKeys() {
			walk("with."+k.Name, k.Value)
		}
	}
	return paths
}

func sectionsPart(b *strings.Builder) {
	paths := objectPaths()
	for i, o := range Objects() {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "<a id=\"%s\"></a>\n#### `%s`\n\n", anchor(o), defName(o))
		var where []string
		for _, p := range paths[o] {
			where = append(where, "`"+p+"`")
		}
		if o == Scenario {
			where = nil
		}
		if len(where) > 0 {
			fmt.Fprintf(b, "At %s.", strings.Join(where, ", "))
			if o.Doc != "" {
				b.WriteString(" ")
			}
		}
		if o.Doc != "" {
			b.WriteString(upperFirst(o.Doc) + ".")
		}
		if o.ExactlyOne {
			b.WriteString(" Give exactly one key.")
		}
		for _, group := range o.NeedOneOf {
			fmt.Fprintf(b, " Give %s.", strings.Join(backquotedAll(group), " or "))
		}
		b.WriteString("\n\n")
		keyTable(b, o.Keys, false)
	}
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// callsPart writes the calls, those with the same keys together: the
// HTTP shorthands share one table.
func callsPart(b *strings.Builder) {
	type group struct {
		calls []Call
		funcs []string
	}
	var groups []*group
	byKeys := map[string]*group{}
	for _, c := range Calls {
		sig := string(c.Kind) + ":" + strings.Join(KeyNames(c.Keys), ",")
		g := byKeys[sig]
		if g == nil {
			g = &group{}
			byKeys[sig] = g
			groups = append(groups, g)
		}
		g.calls = append(g.calls, c)
		if !slices.Contains(g.funcs, c.Func) {
			g.funcs = append(g.funcs, c.Func)
		}
	}
	for i, g := range groups {
		if i > 0 {
			b.WriteString("\n")
		}
		var names, sigs []string
		for _, c := range g.calls {
			names = append(names, "`"+c.Name+"`")
		}
		for _, f := range g.funcs {
			sigs = append(sigs, "`"+f+"`")
		}
		c := g.calls[0]
		fmt.Fprintf(b, "#### %s\n\n", strings.Join(names, ", "))
		doc := upperFirst(c.Doc) + "."
		if c.Method != "" {
			doc = "An HTTP request with the method the call names."
		}
		if len(sigs) > 1 {
			fmt.Fprintf(b, "%s In Starlark: %s, each as `%s`.\n\n", doc, strings.Join(sigs, ", "), signature(LookupFunc(c.Func)))
		} else {
			fmt.Fprintf(b, "%s In Starlark: `%s`.\n\n", doc, signature(LookupFunc(c.Func)))
		}
		keyTable(b, c.Keys, true)
	}
}

// signature writes a function's parameters as a call would: required ones
// by name, optional ones as name=…, then *args and **kwargs.
func signature(f *Func) string {
	var parts []string
	for _, k := range f.Params {
		if k.Required {
			parts = append(parts, k.Name)
		}
	}
	if f.Args != "" {
		parts = append(parts, "*args")
	}
	for _, k := range f.Params {
		if !k.Required {
			parts = append(parts, k.Name+"=…")
		}
	}
	if f.Kwargs != "" {
		parts = append(parts, "**kwargs")
	}
	return f.Name + "(" + strings.Join(parts, ", ") + ")"
}

func starlarkPart(b *strings.Builder) {
	b.WriteString("| name | what it is |\n|---|---|\n")
	for _, n := range Predeclared {
		doc := n.Doc
		if len(n.Members) > 0 {
			doc = fmt.Sprintf("%s (module: %s)", doc, strings.Join(n.Members, ", "))
		}
		if n.InTemplates {
			doc += "; also usable in templates"
		}
		if n.PerRun {
			doc += "; one per run"
		}
		fmt.Fprintf(b, "| `%s` | %s |\n", n.Name, cell(doc))
	}
}

// flowsPart is the keys of an entry of a .star file's scenario["flows"].
func flowsPart(b *strings.Builder) {
	keyTable(b, Flow.Keys, false)
}

func functionsPart(b *strings.Builder) {
	b.WriteString("| function | returns | what it does |\n|---|---|---|\n")
	for _, f := range Funcs {
		if isCallFunc(f.Name) {
			continue // the calls above
		}
		doc := f.Doc + "."
		for _, k := range f.Params {
			doc += fmt.Sprintf(" `%s`: %s.", k.Name, k.Doc)
		}
		if f.Args != "" {
			doc += " `*args`: " + f.Args + "."
		}
		if f.Kwargs != "" {
			doc += " `**kwargs`: " + f.Kwargs + "."
		}
		ret := f.Returns
		if ret == "" {
			ret = "—"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", signature(&f), ret, cell(doc))
	}
}

// isCallFunc reports whether the Starlark function name is what a
// built-in call runs (http.get, tcp.request, sleep...).
func isCallFunc(name string) bool {
	for _, c := range Calls {
		if c.Func == name {
			return true
		}
	}
	return false
}

func attrTable(b *strings.Builder, attrs []Attr) {
	b.WriteString("| attribute | type | meaning |\n|---|---|---|\n")
	for _, a := range attrs {
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", a.Name, a.Type, cell(a.Doc))
	}
}

func resultsPart(b *strings.Builder) {
	b.WriteString("A call's result (`res.NAME` in Starlark, `ACTION.NAME` in templates):\n\n")
	attrTable(b, ResultAttrs)
	b.WriteString("\nThe WebSocket session `ws.connect` returns (Starlark only):\n\n")
	attrTable(b, WSSessionAttrs)
	b.WriteString("\n`user` (in templates and in Starlark):\n\n")
	attrTable(b, UserFields)
	b.WriteString("\n`tenant` (`user.tenant` in Starlark), besides the tenant's properties:\n\n")
	attrTable(b, TenantFields)
	fmt.Fprintf(b, "\nA template path may start with an action id, a resource id, or one of %s.\n", backquoted(TemplateRoots))
}

func backquoted(xs []string) string { return strings.Join(backquotedAll(xs), ", ") }

func backquotedAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return out
}
