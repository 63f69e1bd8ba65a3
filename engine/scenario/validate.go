package scenario

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/expr"
	"github.com/ntx-dev/ntx/engine/pool"
	"github.com/ntx-dev/ntx/engine/schedule"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// Keys accepted under `with:` for each built-in call.
var (
	httpKeys  = []string{"url", "method", "headers", "query", "body", "json", "form", "timeout", "bind_ip", "retries", "tls_verify", "expect_status", "name"}
	tcpKeys   = []string{"address", "send", "read", "expect", "timeout", "bind_ip", "name"}
	udpKeys   = []string{"address", "send", "reply", "expect", "timeout", "bind_ip", "name"}
	sleepKeys = []string{"duration"}
)

// HTTPMethods maps each method shorthand call to its method.
var HTTPMethods = map[string]string{
	"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH",
	"delete": "DELETE", "head": "HEAD", "options": "OPTIONS",
}

// CallKind classifies an action's call: "http", "tcp", "udp", "sleep" or
// "custom"; "" if the call is not valid.
func CallKind(call string) string {
	switch call {
	case "http.request":
		return "http"
	case "tcp.request":
		return "tcp"
	case "udp.request":
		return "udp"
	case "sleep":
		return "sleep"
	}
	if _, ok := HTTPMethods[strings.TrimPrefix(call, "http.")]; ok {
		return "http"
	}
	if starlarkPath.MatchString(call) {
		return "custom"
	}
	return ""
}

var starlarkPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`)

// reserved names a resource must not shadow in the compiled program.
var reserved = map[string]bool{
	"user": true, "tenant": true, "vars": true, "env": true, "r": true, "scenario": true, "flow": true,
	"http": true, "tcp": true, "udp": true, "sleep": true, "check": true, "fail": true, "json": true,
	"time": true, "log": true, "struct": true, "results": true, "run_action": true, "NODES": true,
}

// ResourceGlobals returns the Starlark global name of each resource: its
// id where that is a usable identifier, else a cleaned-up, unique form.
func (s *Scenario) ResourceGlobals() map[string]string {
	out := map[string]string{}
	taken := map[string]bool{}
	for _, r := range s.Resources {
		name := r.ID
		if !starlarkIdent.MatchString(name) || reserved[name] || starlark.Universe[name] != nil || isKeyword(name) {
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
		Universe:  map[string]bool{"json": true, "time": true, "math": true},
		Results:   "r",
		NoUser:    inResource,
	}
	for name := range starlark.Universe {
		sc.Universe[name] = true
	}
	globals := s.ResourceGlobals()
	for _, r := range s.Resources {
		sc.Resources[r.ID] = expr.ResourceRef{Global: globals[r.ID], Props: mappingKeys(r.Props)}
	}
	userFields := map[string]bool{"id": true, "iteration": true, "allocated_ip": true, "tenant": true, "data": true}
	varFields := mappingKeys(s.Variables)
	if !inResource {
		sc.Actions = map[string]map[string]bool{}
		for _, a := range s.Actions {
			if CallKind(a.Call) == "custom" {
				// A custom action's exports are whatever its function
				// returns, known only when it runs: any attribute goes.
				sc.Actions[a.ID] = nil
				continue
			}
			attrs := map[string]bool{}
			for _, k := range expr.ResultAttrs {
				attrs[k] = true
			}
			for _, e := range a.Export {
				attrs[e.Name] = true
				switch e.Scope {
				case "user":
					userFields[e.Name] = true
				case "workbook":
					varFields[e.Name] = true
				}
			}
			sc.Actions[a.ID] = attrs
		}
	}
	tenantFields := map[string]bool{"id": true}
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

func validate(s *Scenario, d *decoder) {
	v := &validator{s: s, d: d}
	v.ids()
	v.pools()
	v.modules()
	v.resources()
	v.actions()
	v.graph()
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
		}
	}
	for i := range v.s.Thresholds {
		t := &v.s.Thresholds[i]
		parsed, err := metrics.ParseThreshold(t.Expr, ids)
		if err != nil {
			v.errorf(t.Pos, "threshold %q: %v", t.Expr, err)
			continue
		}
		t.Parsed = parsed
	}
}

type validator struct {
	s *Scenario
	d *decoder
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
}

func (v *validator) pools() {
	for _, p := range v.s.Pools {
		bad := false
		for _, r := range append(append([]string{}, p.Ranges...), p.Exclude...) {
			if err := pool.CheckSpec(r); err != nil {
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
		if _, err := os.Stat(filepath.Join(dir, m.Path)); err != nil {
			v.errorf(m.Pos, "module %q: cannot read %s", m.Name, m.Path)
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

// templates checks every template under n against sc.
func (v *validator) templates(n *yaml.Node, sc *expr.Scope, refs func(expr.Kind, string)) {
	WalkStrings(n, func(s *yaml.Node) {
		if !expr.HasTemplate(s.Value) {
			return
		}
		if _, err := expr.Template(s.Value, sc, refs); err != nil {
			v.exprError(s, err)
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
		kind := CallKind(a.Call)
		if a.Call == "" {
			continue
		}
		var keys []string
		switch kind {
		case "http":
			keys = httpKeys
		case "tcp":
			keys = tcpKeys
		case "udp":
			keys = udpKeys
		case "sleep":
			keys = sleepKeys
		case "custom":
			mod, _, _ := strings.Cut(a.Call, ".")
			if mod == "http" {
				v.errorf(a.CallPos, "unknown call %q%s", a.Call, didYouMean(a.Call, callNames()))
				continue
			}
			if !modules[mod] {
				v.errorf(a.CallPos, "call %q names module %q, which is not listed under modules:%s", a.Call, mod, didYouMean(mod, slices.Collect(maps.Keys(modules))))
			}
		default:
			v.errorf(a.CallPos, "unknown call %q%s", a.Call, didYouMean(a.Call, callNames()))
			continue
		}
		var with map[string]field
		if kind == "custom" {
			v.d.mapping(a.With, "with") // any keys: they are the function's arguments
		} else {
			with = v.d.fields(a.With, fmt.Sprintf("with of action %q", a.ID), keys...)
		}
		required := map[string]string{"http": "url", "tcp": "address", "udp": "address", "sleep": "duration"}[kind]
		if _, ok := with[required]; required != "" && !ok && !a.broken {
			v.errorf(a.CallPos, "action %q (%s) needs `%s` under with:", a.ID, a.Call, required)
		}
		for k, f := range with {
			v.literal(k, f.value)
		}
		v.templates(a.With, sc, nil)
		for _, e := range a.Export {
			v.templates(e.Default, sc, nil)
			if (e.Type == "assert" || e.Type == "variable") && e.Default == nil {
				v.errorf(e.Pos, "a %s export needs the expected value in default (or equals)", e.Type)
			}
		}
	}
}

// literal checks the type of a with value that holds no template.
func (v *validator) literal(key string, n *yaml.Node) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && expr.HasTemplate(n.Value) {
		return
	}
	switch key {
	case "timeout", "duration":
		v.d.duration(n, key)
	case "retries":
		v.d.integer(n, key, 0)
	case "tls_verify", "reply":
		v.d.boolean(n, key)
	case "method":
		m := strings.ToUpper(v.d.str(n, key))
		if m != "" && !httpMethod.MatchString(m) {
			v.errorf(v.d.pos(n), "%q is not an HTTP method", m)
		}
	case "headers", "query", "form":
		v.d.mapping(n, key)
	case "expect_status":
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				v.d.integer(c, "expect_status entry", 100)
			}
		} else {
			v.d.integer(n, key, 100)
		}
	case "read":
		if n.Kind == yaml.MappingNode {
			f := v.d.fields(n, "read", "bytes", "until")
			if len(f) != 1 {
				v.errorf(v.d.pos(n), "read takes one of bytes: N or until: STR")
			}
			if b, ok := f["bytes"]; ok {
				v.d.integer(b.value, "read.bytes", 1)
			}
			if u, ok := f["until"]; ok {
				v.d.str(u.value, "read.until")
			}
		} else {
			v.d.oneOf(n, "read", "line", "close")
		}
	case "url", "address", "send", "expect", "bind_ip":
		v.d.str(n, key)
	}
}

var httpMethod = regexp.MustCompile(`^[A-Z]+$`)

func callNames() []string {
	names := []string{"http.request", "tcp.request", "udp.request", "sleep"}
	for k := range HTTPMethods {
		names = append(names, k, "http."+k)
	}
	return names
}

func (v *validator) graph() {
	if len(v.s.Nodes) == 0 {
		// Said only when nothing else is wrong: a broken tasks section
		// has already been reported.
		if len(v.d.errs) == 0 {
			v.errorf(Pos{File: v.d.file, Line: 1, Col: 1}, "the scenario has no tasks or nodes: nothing would run")
		}
		return
	}
	nodes := map[string]*Node{}
	for _, n := range v.s.Nodes {
		nodes[n.ID] = n
	}
	var nodeIDs []string
	for _, n := range v.s.Nodes {
		nodeIDs = append(nodeIDs, n.ID)
	}
	nodeIDs = append(nodeIDs, EndNode)
	var actionIDs []string
	for _, a := range v.s.Actions {
		actionIDs = append(actionIDs, a.ID)
	}
	sc := v.s.Scope(false)
	for _, n := range v.s.Nodes {
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
	walk(v.s.StartNode())
	for _, n := range v.s.Nodes {
		if !seen[n.ID] {
			v.s.Warnings.Add(n.Pos, "node %q is unreachable from %q", n.ID, v.s.StartNode())
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
	if l.Lifetime.Mode == "loop" && l.Lifetime.Iterations == 0 && l.Duration == 0 {
		v.errorf(Pos{File: v.d.file, Line: 1, Col: 1}, "user_lifetime loops with iterations: 0 (until the duration ends) but load.duration is not set")
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
