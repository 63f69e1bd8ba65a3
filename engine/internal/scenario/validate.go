package scenario

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/expr"
	"github.com/ntx-dev/ntx/engine/internal/pool"
	"github.com/ntx-dev/ntx/engine/internal/schedule"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// CallKind classifies an action's call: catalog.HTTP, TCP, UDP, Sleep or
// Custom; "" if the call is not valid.
func CallKind(call string) catalog.Kind {
	if c := catalog.Lookup(call); c != nil {
		return c.Kind
	}
	if starlarkPath.MatchString(call) {
		return catalog.Custom
	}
	return ""
}

var starlarkPath = regexp.MustCompile(catalog.CustomCallPattern)

// ResourceGlobals returns the Starlark global name of each resource: its
// id where that is a usable identifier, else a cleaned-up, unique form.
func (s *Scenario) ResourceGlobals() map[string]string {
	out := map[string]string{}
	taken := map[string]bool{}
	for _, r := range s.Resources {
		name := r.ID
		if !starlarkIdent.MatchString(name) || catalog.Reserved(name) || starlark.Universe[name] != nil || isKeyword(name) {
			name = "res_" + strings.Map(func(c rune) rune {
				if c == '-' || c == '.' {
					return '_'
				}
				return c
			}, r.ID)
		}
		base := name
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		taken[name] = true
		out[r.ID] = name
	}
	return out
}

func isKeyword(s string) bool {
	switch s {
	case "and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "load",
		"not", "or", "pass", "return", "while", "True", "False", "None",
		"as", "assert", "async", "await", "class", "del", "except", "finally", "from", "global",
		"import", "is", "nonlocal", "raise", "try", "with", "yield":
		return true
	}
	return false
}

// Scope returns the names templates may use in this scenario. inResource
// is for resource properties, which are evaluated before any user exists.
func (s *Scenario) Scope(inResource bool) *expr.Scope {
	sc := &expr.Scope{
		Resources: map[string]expr.ResourceRef{},
		Fields:    map[string]map[string]bool{},
		Universe:  map[string]bool{},
		Results:   "r",
		NoUser:    inResource,
		Data:      s.dataColumns(),
	}
	for name := range starlark.Universe {
		sc.Universe[name] = true
	}
	for _, n := range catalog.Predeclared {
		if n.InTemplates {
			sc.Universe[n.Name] = true
		}
	}
	globals := s.ResourceGlobals()
	for _, r := range s.Resources {
		sc.Resources[r.ID] = expr.ResourceRef{Global: globals[r.ID], Props: mappingKeys(r.Props)}
	}
	userFields := attrSet(catalog.UserFields)
	varFields := mappingKeys(s.Variables)
	if !inResource {
		sc.Actions = map[string]map[string]bool{}
		for _, a := range s.Actions {
			attrs := attrSet(catalog.ResultAttrs)
			for _, e := range a.Export {
				attrs[e.Name] = true
				switch e.Scope {
				case ScopeUser:
					userFields[e.Name] = true
				case ScopeWorkbook:
					varFields[e.Name] = true
				}
			}
			if a.Kind == catalog.Custom {
				// A custom action's result holds whatever its function
				// returns, known only when it runs: any attribute goes.
				// Its export: entries still name user and vars fields.
				attrs = nil
			}
			sc.Actions[a.ID] = attrs
		}
	}
	tenantFields := attrSet(catalog.TenantFields)
	for _, t := range s.Tenants {
		for k := range mappingKeys(t.Props) {
			tenantFields[k] = true
		}
	}
	sc.Fields["user"] = userFields
	sc.Fields["tenant"] = tenantFields
	sc.Fields["vars"] = varFields
	return sc
}

func attrSet(attrs []catalog.Attr) map[string]bool {
	out := make(map[string]bool, len(attrs))
	for _, a := range attrs {
		out[a.Name] = true
	}
	return out
}

func mappingKeys(n *yaml.Node) map[string]bool {
	out := map[string]bool{}
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = true
	}
	return out
}

// TemplatePos is the position of byte offset off inside the scalar n,
// exact for single-line scalars.
func TemplatePos(file string, n *yaml.Node, off int) Pos {
	p := Pos{File: file, Line: n.Line, Col: n.Column}
	if strings.Contains(n.Value, "\n") {
		return p
	}
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		p.Col += off + 1
	case 0, yaml.TaggedStyle:
		p.Col += off
	}
	return p
}

func validate(s *Scenario, d *decoder, opts Options) {
	v := &validator{s: s, d: d, env: opts.Env}
	v.ids()
	v.datasets()
	v.pools()
	v.modules()
	v.resources()
	v.actions()
	v.httpTLS()
	v.httpWith()
	v.hookSteps()
	v.graph()
	v.endless()
	v.load()
	v.thresholds(true)
}

// thresholds parses each threshold into its typed form, once, so that
// a statistic or action that does not exist is an input error before any
// load is sent. Where the actions are known (YAML), the name must be one.
func (v *validator) thresholds(actionsKnown bool) {
	var ids []string
	if actionsKnown {
		ids = []string{}
		for _, a := range v.s.Actions {
			ids = append(ids, a.ID)
			if a.Kind == catalog.WS {
				ids = append(ids, a.ID+".connect") // the opening, measured apart
			}
		}
	}
	for i := range v.s.Thresholds {
		t := &v.s.Thresholds[i]
		parsed, err := metrics.ParseThreshold(t.Expr, ids)
		if err != nil {
			v.errorf(t.Pos, "threshold %q: %v", t.Expr, err)
			continue
		}
		if a := v.s.Action(parsed.Name); parsed.Phase != "" && actionsKnown && a != nil && a.Kind != "" && a.Kind != catalog.HTTP {
			// Only HTTP calls are timed by phase: the threshold could never be met.
			v.errorf(t.Pos, "threshold %q: %s is a %s action; only HTTP calls have timing phases (%s)", t.Expr, a.ID, a.Kind, strings.Join(metrics.Phases[:], ", "))
			continue
		}
		t.Parsed = parsed
		if parsed.Subject == metrics.SubjectFlow {
			ids := v.s.FlowIDs()
			switch {
			case len(ids) == 0:
				v.errorf(t.Pos, "threshold %q: the scenario has no user mix: flows.ID thresholds name its workflows (a list under workflows:, or scenario[\"flows\"])", t.Expr)
			case !contains(ids, parsed.Name):
				v.errorf(t.Pos, "threshold %q: %q is not a workflow of the scenario%s", t.Expr, parsed.Name, didYouMean(parsed.Name, ids))
			}
		}
	}
}

type validator struct {
	s *Scenario
	d *decoder
	// env reports whether env.NAME will be set when the scenario runs;
	// nil when that is not known (ntx compile).
	env     func(name string) bool
	envSeen map[string]bool // env variables reported unset
}

func (v *validator) errorf(p Pos, format string, args ...any) { v.d.errs.Add(p, format, args...) }

func (v *validator) ids() {
	check := func(kind, id string, p Pos, seen map[string]Pos) {
		if id == "" {
			return
		}
		if prev, dup := seen[id]; dup {
			v.errorf(p, "duplicate %s id %q (first defined at line %d)", kind, id, prev.Line)
			return
		}
		seen[id] = p
	}
	pools, res, tenants, actions, nodes := map[string]Pos{}, map[string]Pos{}, map[string]Pos{}, map[string]Pos{}, map[string]Pos{}
	for _, p := range v.s.Pools {
		check("pool", p.ID, p.Pos, pools)
	}
	for _, r := range v.s.Resources {
		check("resource", r.ID, r.Pos, res)
	}
	for _, t := range v.s.Tenants {
		check("tenant", t.ID, t.Pos, tenants)
	}
	for _, a := range v.s.Actions {
		check("action", a.ID, a.Pos, actions)
		if p, clash := res[a.ID]; clash {
			v.errorf(a.Pos, "action id %q is also a resource id (line %d): templates could not tell them apart", a.ID, p.Line)
		}
	}
	for _, n := range v.s.Nodes {
		check("node", n.ID, n.IDPos, nodes)
	}
	flows := map[string]Pos{}
	for _, w := range v.s.Workflows {
		check("workflow", w.ID, w.IDPos, flows)
		// Each workflow is a graph of its own: its node ids are its own.
		nodes := map[string]Pos{}
		for _, n := range w.Nodes {
			check("node", n.ID, n.IDPos, nodes)
		}
	}
}

func (v *validator) pools() {
	for _, p := range v.s.Pools {
		bad := false
		for i, r := range append(append([]string{}, p.Ranges...), p.Exclude...) {
			check := pool.CheckSpec // addresses to send from: no 0.0.0.0, ::, multicast
			if i >= len(p.Ranges) {
				check = pool.CheckExclude
			}
			if err := check(r); err != nil {
				pos, ok := p.SpecPos[r]
				if !ok {
					pos = p.Pos
				}
				v.errorf(pos, "ip pool %q: %v", p.ID, err)
				bad = true
			}
		}
		if bad || len(p.Ranges) == 0 {
			continue
		}
		addrs, err := pool.ParseAddrs(p.Ranges, p.Exclude)
		switch {
		case err != nil:
			v.errorf(p.Pos, "ip pool %q: %v", p.ID, err)
		case len(addrs) == 0:
			v.errorf(p.Pos, "ip pool %q has no addresses left after exclusions", p.ID)
		default:
			p.Addrs = addrs // the one expansion: the run uses these
		}
	}
}

func (v *validator) modules() {
	dir := filepath.Dir(v.s.File)
	for _, m := range v.s.Modules {
		if m.Path == "" {
			continue
		}
		if filepath.IsAbs(m.Path) || strings.HasPrefix(filepath.Clean(m.Path), "..") {
			v.errorf(m.Pos, "module %q: path %q must be relative and inside the scenario's directory", m.Name, m.Path)
			continue
		}
		if !strings.EqualFold(filepath.Ext(m.Path), ".star") {
			v.errorf(m.Pos, "module %q: %q is not a .star file", m.Name, m.Path)
			continue
		}
		if _, err := InsideTree(dir, filepath.Join(dir, m.Path)); err != nil {
			v.errorf(m.Pos, "module %q: cannot read %s: %v", m.Name, m.Path, err)
		}
	}
}

// WalkStrings calls fn for every string scalar under n, in order.
func WalkStrings(n *yaml.Node, fn func(*yaml.Node)) {
	n = deref(n)
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			fn(n)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			WalkStrings(n.Content[i], fn)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			WalkStrings(c, fn)
		}
	}
}

// templates checks every template under n against sc, each {{ }} on
// its own, so that every wrong name is reported.
func (v *validator) templates(n *yaml.Node, sc *expr.Scope, refs func(expr.Kind, string)) {
	WalkStrings(n, func(s *yaml.Node) {
		if !expr.HasTemplate(s.Value) {
			return
		}
		parts, err := expr.Split(s.Value)
		if err != nil {
			v.exprError(s, err)
			return
		}
		for _, p := range parts {
			if !p.IsExpr {
				continue
			}
			if _, err := expr.Rewrite(p.Text, sc, refs); err != nil {
				if te, ok := err.(*expr.Error); ok {
					err = &expr.Error{Off: p.Off + te.Off, Msg: te.Msg}
				}
				v.exprError(s, err)
			}
		}
	})
}

func (v *validator) resources() {
	sc := v.s.Scope(true)
	deps := map[string][]string{}
	for _, r := range v.s.Resources {
		v.templates(r.Props, sc, func(k expr.Kind, id string) {
			if k == expr.Resource {
				deps[r.ID] = append(deps[r.ID], id)
			}
		})
		v.envRefs(r.Props, sc)
	}
	// A resource whose properties lead back to itself can never be
	// evaluated: search from each resource for a path back to it.
	for _, r := range v.s.Resources {
		if path := cycleFrom(r.ID, deps); path != nil {
			v.errorf(r.Pos, "resource %q refers to itself through its properties (%s)", r.ID, strings.Join(path, " -> "))
		}
	}
}

// cycleFrom returns a path of ids from start back to start, or nil.
func cycleFrom(start string, deps map[string][]string) []string {
	seen := map[string]bool{}
	var walk func(id string, path []string) []string
	walk = func(id string, path []string) []string {
		for _, dep := range deps[id] {
			if dep == start {
				return append(path, dep)
			}
			if !seen[dep] {
				seen[dep] = true
				if p := walk(dep, append(path, dep)); p != nil {
					return p
				}
			}
		}
		return nil
	}
	return walk(start, []string{start})
}

func (v *validator) actions() {
	sc := v.s.Scope(false)
	modules := map[string]bool{}
	for _, m := range v.s.Modules {
		modules[m.Name] = true
	}
	for _, a := range v.s.Actions {
		if a.Call == "" {
			continue
		}
		call := catalog.Lookup(a.Call)
		if call == nil {
			mod, _, _ := strings.Cut(a.Call, ".")
			if !starlarkPath.MatchString(a.Call) || mod == "http" {
				v.errorf(a.CallPos, "unknown call %q%s", a.Call, didYouMean(a.Call, catalog.CallNames()))
				continue
			}
			if !modules[mod] {
				v.errorf(a.CallPos, "call %q names module %q, which is not listed under modules:%s", a.Call, mod, didYouMean(mod, slices.Collect(maps.Keys(modules))))
			}
			v.d.mapping(a.With, "with") // any keys: they are the function's arguments
		} else {
			with := v.d.fields(v.fixedMethod(a, call), fmt.Sprintf("with of action %q", a.ID), call.WithNames()...)
			if required := call.Required(); required != "" && !a.broken {
				if _, ok := with[required]; !ok {
					v.errorf(a.CallPos, "action %q (%s) needs `%s` under with:", a.ID, a.Call, required)
				}
			}
			for _, k := range call.WithKeys() {
				if f, ok := with[k.Name]; ok {
					v.value(f.value, k.Name, k.Value)
					v.literal(f.value, k, call.Kind)
				}
			}
		}
		v.templates(a.With, sc, nil)
		v.envRefs(a.With, sc)
		for _, e := range a.Export {
			v.templates(e.Default, sc, nil)
			v.envRefs(e.Default, sc)
			if (e.Type == "assert" || e.Type == "variable") && e.Default == nil {
				v.errorf(e.Pos, "a %s export needs the expected value in default (or equals)", e.Type)
			}
		}
	}
}

// fixedMethod reports a method: under with: of a call whose method is
// fixed (get, http.post...) by saying how to choose one, and returns
// with: without it, so that it is not reported again as an unknown key.
func (v *validator) fixedMethod(a *Action, call *catalog.Call) *yaml.Node {
	n := deref(a.With)
	if call.Method == "" || n == nil || n.Kind != yaml.MappingNode {
		return a.With
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Value == "method" {
			hint := ""
			if other := strings.ToLower(deref(n.Content[i+1]).Value); other != a.Call && catalog.Lookup(other) != nil {
				hint = ", or call: " + other
			}
			v.errorf(v.d.pos(k), "%s always sends %s: to choose the method, use call: http.request with method:%s", a.Call, call.Method, hint)
			rest := *n
			rest.Content = append(append([]*yaml.Node{}, n.Content[:i]...), n.Content[i+2:]...)
			return &rest
		}
	}
	return a.With
}

// value checks a value against what the catalog says its key takes.
// A string holding a template is checked when it runs instead.
func (v *validator) value(n *yaml.Node, what string, want catalog.Value) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && expr.HasTemplate(n.Value) && want.Template {
		return
	}
	if len(want.OneOf) > 0 {
		// The first form whose shape (scalar, list, mapping) fits.
		for _, o := range want.OneOf {
			if shapeFits(n, o) {
				v.value(n, what, o)
				return
			}
		}
		v.errorf(v.d.pos(n), "%s must be %s, not %s", what, want.Describe(), kindName(n))
		return
	}
	switch want.Type {
	case catalog.Duration:
		v.d.duration(n, what)
	case catalog.Rate:
		v.d.rate(n, what)
	case catalog.Int:
		lo := math.MinInt32
		if want.HasMin {
			lo = want.Min
		}
		v.d.integer(n, what, lo)
	case catalog.Bool:
		v.d.boolean(n, what)
	case catalog.Enum:
		v.d.oneOf(n, what, want.Values...)
	case catalog.IP: // the only IPs a scenario gives are source addresses
		v.sourceIP(n, what)
	case catalog.String, catalog.URL, catalog.Address:
		s := v.d.str(n, what)
		if want.Pattern != "" && s != "" && !regexp.MustCompile(want.Pattern).MatchString(s) {
			v.errorf(v.d.pos(n), "%s %q is not %s", what, s, want.Hint)
		}
	case catalog.Map:
		if m := v.d.mapping(n, what); m != nil && want.Elem != nil {
			for i := 0; i+1 < len(m.Content); i += 2 {
				v.value(m.Content[i+1], what+" "+m.Content[i].Value, *want.Elem)
			}
		}
	case catalog.List:
		for _, c := range v.d.list(n, what) {
			if want.Elem != nil {
				v.value(c, what+" entry", *want.Elem)
			}
		}
	case catalog.Object:
		f := v.d.fields(n, what, want.Obj.Names()...)
		if want.Obj.ExactlyOne && len(f) != 1 && deref(n).Kind == yaml.MappingNode {
			v.errorf(v.d.pos(n), "%s", want.Obj.Doc)
		}
		for _, k := range want.Obj.Keys {
			if x, ok := f[k.Name]; ok {
				v.value(x.value, what+"."+k.Name, k.Value)
			}
		}
	}
}

// shapeFits reports whether n has the shape of a want value: a mapping
// for an object or a map, a list for a list, a scalar for the rest.
func shapeFits(n *yaml.Node, want catalog.Value) bool {
	switch want.Type {
	case catalog.Object, catalog.Map:
		return n.Kind == yaml.MappingNode
	case catalog.List:
		return n.Kind == yaml.SequenceNode
	case catalog.Any:
		return true
	case catalog.Int:
		return n.Kind == yaml.ScalarNode && n.Tag == "!!int"
	}
	return n.Kind == yaml.ScalarNode
}

func (v *validator) graph() {
	if len(v.s.Nodes) == 0 && len(v.s.Workflows) == 0 {
		// Said only when nothing else is wrong: a broken tasks section
		// has already been reported.
		if len(v.d.errs) == 0 {
			v.errorf(Pos{File: v.d.file, Line: 1, Col: 1}, "the scenario has no tasks or nodes: nothing would run")
		}
		return
	}
	for _, w := range v.s.Graphs() {
		v.workflowGraph(w)
	}
}

// workflowGraph checks one workflow's graph: the actions its nodes run,
// the nodes its edges lead to, its conditions; and warns about nodes no
// path reaches from its start.
func (v *validator) workflowGraph(w *Workflow) {
	if len(w.Nodes) == 0 {
		return
	}
	nodes := map[string]*Node{}
	for _, n := range w.Nodes {
		nodes[n.ID] = n
	}
	var nodeIDs []string
	for _, n := range w.Nodes {
		nodeIDs = append(nodeIDs, n.ID)
	}
	nodeIDs = append(nodeIDs, EndNode)
	var actionIDs []string
	for _, a := range v.s.Actions {
		actionIDs = append(actionIDs, a.ID)
	}
	sc := v.s.Scope(false)
	for _, n := range w.Nodes {
		if n.Action != "" && v.s.Action(n.Action) == nil {
			v.errorf(n.Pos, "node %q runs action %q, which is not defined%s", n.ID, n.Action, didYouMean(n.Action, actionIDs))
		}
		for _, e := range n.Edges {
			if e.To != "" && nodes[e.To] == nil && e.To != EndNode {
				v.errorf(e.Pos, "node %q leads to %q, which is not a node%s", n.ID, e.To, didYouMean(e.To, nodeIDs))
			}
			v.condition(e.When, sc)
		}
	}
	// Warn about nodes no path reaches from the start.
	seen := map[string]bool{}
	var walk func(id string)
	walk = func(id string) {
		n := nodes[id]
		if n == nil || seen[id] {
			return
		}
		seen[id] = true
		for _, e := range n.Edges {
			walk(e.To)
		}
	}
	walk(w.StartNode())
	for _, n := range w.Nodes {
		if !seen[n.ID] {
			v.s.Warnings.Add(n.Pos, "node %q is unreachable from %q", n.ID, w.StartNode())
		}
	}
}

func (v *validator) condition(n *yaml.Node, sc *expr.Scope) {
	n = deref(n)
	if n == nil {
		return
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		v.errorf(v.d.pos(n), "a condition must be true, false or an expression, not %s", kindName(n))
		return
	}
	if n.Tag == "!!bool" {
		return
	}
	if _, err := expr.Condition(n.Value, sc, nil); err != nil {
		v.exprError(n, err)
	}
}

// exprError reports a template or condition error at the point of the
// scalar n it refers to.
func (v *validator) exprError(n *yaml.Node, err error) {
	off := 0
	if te, ok := err.(*expr.Error); ok {
		off = te.Off
	}
	v.errorf(TemplatePos(v.d.file, n, off), "%v", err)
}

func (v *validator) load() {
	l := &v.s.Load
	var poolIDs []string
	for _, p := range v.s.Pools {
		poolIDs = append(poolIDs, p.ID)
	}
	var tenantIDs []string
	for _, t := range v.s.Tenants {
		tenantIDs = append(tenantIDs, t.ID)
	}
	checkPool := func(p Pos, what, id string) {
		if id != "" && v.s.Pool(id) == nil {
			v.errorf(p, "%s %q is not an ip pool%s", what, id, didYouMean(id, poolIDs))
		}
	}
	if l.Binding.Enabled {
		if l.Binding.PoolID == "" && len(v.s.Pools) != 1 {
			v.errorf(l.Binding.Pos, "ip_binding needs pool_id (the scenario has %d pools)", len(v.s.Pools))
		}
		checkPool(l.Binding.Pos, "ip_binding.pool_id", l.Binding.PoolID)
	}
	checkPool(l.Binding.Pos, "fallback_pool", l.Capacity.FallbackPool)
	v.phaseWorkflows()
	for _, ph := range l.Phases {
		checkPool(ph.PoolPos, "ip_pool_override", ph.Pool)
		if ph.Tenant != "" && !contains(tenantIDs, ph.Tenant) {
			v.errorf(ph.TenantPos, "tenant_id %q is not a tenant%s", ph.Tenant, didYouMean(ph.Tenant, tenantIDs))
		}
	}
	if a := l.Arrival; a != nil && a.Duration == 0 && l.Duration == 0 {
		v.errorf(a.Pos, "arrival needs a duration (or load.duration): the open model runs for a set time")
	}
	v.userBudget()
	if lt := l.Lifetime; lt.Mode == "loop" && lt.Iterations == 0 && l.Duration == 0 && !lt.Faulty {
		at := lt.Pos
		if at.Line == 0 {
			at = Pos{File: v.d.file, Line: 1, Col: 1}
		}
		v.errorf(at, "user_lifetime loops with iterations: 0 (until the duration ends) but load.duration is not set")
	}
}

// userBudget refuses plans of more than schedule.MaxUsers users: the
// spawn_users of one phase, their sum over the phases, and the arrivals
// of the open model, each at the place that crosses the limit.
func (v *validator) userBudget() {
	l := &v.s.Load
	total := 0
	for _, ph := range l.Phases {
		total += ph.Users
		if ph.Users > schedule.MaxUsers {
			v.errorf(ph.Pos, "spawn_users: %d is more than a run may spawn (%d users at most)", ph.Users, schedule.MaxUsers)
			return
		}
		if total > schedule.MaxUsers {
			v.errorf(ph.Pos, "with this phase the ramp-up spawns %d users, more than a run may spawn (%d at most)", total, schedule.MaxUsers)
			return
		}
	}
	if a := l.Arrival; a != nil && a.Rate > 0 {
		window := a.Duration
		if window == 0 || l.Duration > 0 && l.Duration < window {
			window = l.Duration
		}
		if _, err := schedule.NewArrivals(a.Rate, window); err != nil {
			v.errorf(a.Pos, "%v", err)
		}
		if a.MaxUsers > schedule.MaxUsers {
			v.errorf(a.Pos, "arrival.max_users: %d is more than a run may start (%d at most)", a.MaxUsers, schedule.MaxUsers)
		}
	}
}

// phaseWorkflows checks that each phase's workflow: names a workflow of
// the user mix.
func (v *validator) phaseWorkflows() {
	ids := v.s.FlowIDs()
	for _, ph := range v.s.Load.Phases {
		switch {
		case ph.Workflow == "":
		case len(ids) == 0:
			v.errorf(ph.WorkflowPos, "workflow %q: the scenario has no named workflows to pin a phase to (list them under workflows:, or a .star file's scenario[\"flows\"])", ph.Workflow)
		case !contains(ids, ph.Workflow):
			v.errorf(ph.WorkflowPos, "workflow %q is not a workflow of the scenario%s", ph.Workflow, didYouMean(ph.Workflow, ids))
		}
	}
}
