// Package compile turns a validated YAML scenario into the Starlark
// program that runs it (spec §7).
//
// The program is meant to be read: one function per action and per node,
// edges as if/elif, templates as plain Starlark expressions. A YAML
// scenario is always run through this program, so running the printed
// program with `ntx exec` behaves exactly as running the YAML.
package compile

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/expr"
	"github.com/ntx-dev/ntx/engine/internal/scenario"
)

// MaxNodeVisits is the per-iteration limit on node visits that ends a
// runaway graph (a retry loop that never succeeds) as failed.
const MaxNodeVisits = 1000

// Compile returns the Starlark source of the program for s, which must
// have passed validation.
func Compile(s *scenario.Scenario) (string, error) {
	out, err := Build(s)
	if err != nil {
		return "", err
	}
	return out.Source, nil
}

// Output is a compiled program and the map from its positions back to
// the YAML it came from.
type Output struct {
	Source string
	Map    *SourceMap
	// FlowFns names the flow function of each named workflow of a user
	// mix, by workflow id; nil when the scenario has one workflow, whose
	// function is flow.
	FlowFns map[string]string
}

// Build compiles s, which must have passed validation, and maps the
// program back to the YAML.
func Build(s *scenario.Scenario) (*Output, error) {
	c := &compiler{s: s, graphs: s.Graphs(), actionScope: s.Scope(false), resourceScope: s.Scope(true), calls: map[string]string{}}
	c.printf("%s", c.mark(scenario.Pos{File: s.File, Line: 1, Col: 1}, nil))
	c.names()
	c.header()
	c.modules()
	c.config()
	c.resources()
	c.bodyRead = c.bodiesRead()
	for _, a := range s.Actions {
		c.action(a)
	}
	for _, w := range c.graphs {
		c.wf = w
		for _, n := range w.Nodes {
			c.node(n)
		}
		c.flow(w)
	}
	c.flowsList()
	c.hook("setup", "setup()", "Runs once before any user starts, as no user; if an action fails, no load is sent.", s.Setup)
	c.hook("teardown", "teardown(data)", "Runs once after the last user.", s.Teardown)
	if c.err != nil {
		return nil, c.err
	}
	src, m := c.finish(c.b.String())
	return &Output{Source: src, Map: m, FlowFns: c.flowFn}, nil
}

type compiler struct {
	s             *scenario.Scenario
	bodyRead      map[string]bool // action ids whose response body something reads
	resultRead    map[string]bool // action ids whose result something reads
	b             strings.Builder
	err           error
	actionScope   *expr.Scope
	resourceScope *expr.Scope
	actionFn      map[string]string
	nodeFn        map[*scenario.Workflow]map[string]string // per workflow, by node id
	flowFn        map[string]string                        // per named workflow, by id
	nodesDict     map[*scenario.Workflow]string            // the global holding a workflow's nodes
	wf            *scenario.Workflow                       // the workflow being compiled
	graphs        []*scenario.Workflow                     // s.Graphs(), once
	moduleFn      map[string]string                        // "MODULE.FUNCTION" -> loaded name
	calls         map[string]string                        // action id -> its call (actionCall)
	pending       []Span                                   // spans whose markers are in b
}

func (c *compiler) printf(format string, args ...any) { fmt.Fprintf(&c.b, format, args...) }

func (c *compiler) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// names assigns each action and node a unique function name.
func (c *compiler) names() {
	taken := map[string]bool{}
	unique := func(base string) string {
		name := base
		for i := 2; taken[name]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		taken[name] = true
		return name
	}
	c.actionFn = map[string]string{}
	for _, a := range c.s.Actions {
		c.actionFn[a.ID] = unique("action_" + ident(a.ID))
	}
	c.nodeFn = map[*scenario.Workflow]map[string]string{}
	c.nodesDict = map[*scenario.Workflow]string{}
	for _, w := range c.graphs {
		fns := map[string]string{}
		prefix := "node_"
		if w.ID != "" {
			// Named workflows may share node ids: each has its own.
			prefix += ident(w.ID) + "_"
		}
		for _, n := range w.Nodes {
			fns[n.ID] = unique(prefix + ident(n.ID))
		}
		c.nodeFn[w] = fns
	}
	for _, w := range c.graphs {
		if w.ID == "" {
			c.nodesDict[w] = unique("NODES")
			continue
		}
		if c.flowFn == nil {
			c.flowFn = map[string]string{}
		}
		c.flowFn[w.ID] = unique("flow_" + ident(w.ID))
		c.nodesDict[w] = unique("NODES_" + strings.ToUpper(ident(w.ID)))
	}
	c.moduleFn = map[string]string{}
	for _, a := range c.s.Actions {
		if a.Kind == catalog.Custom {
			if _, ok := c.moduleFn[a.Call]; !ok {
				c.moduleFn[a.Call] = unique(ident(strings.ReplaceAll(a.Call, ".", "_")))
			}
		}
	}
}

func ident(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, id)
}

func (c *compiler) header() {
	c.printf("# Compiled by ntx from %s.\n", c.s.File)
	c.printf("# Run it with `ntx exec`: it behaves exactly like the YAML it came from.\n")
	c.printf("# Each action and each node is a function (a node makes its action's\n")
	c.printf("# call itself); r holds this iteration's action results by action id,\n")
	c.printf("# and a node returns the next node's id, or None to end the iteration\n")
	c.printf("# as passed. flow makes the calls of the nodes every iteration goes\n")
	c.printf("# through itself, up to the first edge with a condition.\n\n")
}

func (c *compiler) modules() {
	paths := map[string]string{}
	where := map[string]scenario.Pos{}
	for _, m := range c.s.Modules {
		paths[m.Name] = m.Path
		where[m.Name] = m.Pos
	}
	calls := make([]string, 0, len(c.moduleFn))
	for call := range c.moduleFn {
		calls = append(calls, call)
	}
	sort.Strings(calls)
	for _, call := range calls {
		mod, fn, _ := strings.Cut(call, ".")
		// A module that fails to load is its modules: entry's fault; a
		// function it lacks ("load: name f not found") is the call's.
		var callPos scenario.Pos
		for _, a := range c.s.Actions {
			if a.Call == call {
				callPos = a.CallPos
				break
			}
		}
		at := c.mark(where[mod], map[string]scenario.Pos{"name": callPos})
		c.printf("%sload(%s, %s = %s)\n", at, expr.Quote(paths[mod]), c.moduleFn[call], expr.Quote(fn))
	}
	if len(calls) > 0 {
		c.printf("\n")
	}
}

func (c *compiler) config() {
	c.printf("%sscenario = {\n", c.mark(scenario.Pos{File: c.s.File, Line: 1, Col: 1}, nil))
	for _, k := range catalog.RunKeys() {
		if n, ok := c.s.Config[k]; ok {
			c.printf("    %s: %s,\n", expr.Quote(k), c.literal(n, 1))
		}
	}
	c.printf("}\n\n")
}

// resources emits each resource as a struct, in dependency order.
func (c *compiler) resources() {
	if len(c.s.Resources) == 0 {
		return
	}
	globals := c.s.ResourceGlobals()
	done := map[string]bool{}
	var emit func(r *scenario.Resource)
	emit = func(r *scenario.Resource) {
		if done[r.ID] {
			return
		}
		done[r.ID] = true
		var deps []string
		scenario.WalkStrings(r.Props, func(s *yaml.Node) {
			_, _ = expr.Template(s.Value, c.resourceScope, func(k expr.Kind, id string) {
				if k == expr.Resource {
					deps = append(deps, id)
				}
			})
		})
		for _, d := range deps {
			for _, other := range c.s.Resources {
				if other.ID == d {
					emit(other)
				}
			}
		}
		c.printf("%s%s = struct(", c.mark(r.Pos, nil), globals[r.ID])
		props := mapping(r.Props)
		for i := 0; i+1 < len(props); i += 2 {
			if i > 0 {
				c.printf(", ")
			}
			c.printf("%s%s = %s", c.mark(c.pos(props[i+1]), nil), ident(props[i].Value), c.value(props[i+1], c.resourceScope, 0))
		}
		c.printf(")\n")
	}
	for _, r := range c.s.Resources {
		emit(r)
	}
	c.printf("\n")
}

func mapping(n *yaml.Node) []*yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return n.Content
}

func (c *compiler) action(a *scenario.Action) {
	c.printf("%sdef %s(user, r):%s\n", c.mark(a.Pos, nil), c.actionFn[a.ID], c.from(a.Pos))
	c.printf("    \"\"\"Action %s: %s.\"\"\"\n", strings.ReplaceAll(a.ID, `"`, `'`), a.Call)
	call := c.actionCall(a)
	if a.Kind == catalog.Sleep {
		c.printf("    %s\n", call)
		c.printf("    return None\n\n")
		return
	}
	c.printf("    %s\n\n", strings.Replace(call, string(markClose), string(markClose)+"return ", 1))
}

// actionCall returns the call that runs action a (a built-in's, or
// run_action for a custom action), as one statement written at an
// indentation of 4 that starts with its span. The action's function
// returns it; a node makes the call itself, which spares the
// interpreter a function call, and its frame, per step.
func (c *compiler) actionCall(a *scenario.Action) string {
	if call, ok := c.calls[a.ID]; ok {
		return call
	}
	kind := a.Kind
	var args []string
	argPos := map[string]scenario.Pos{}
	named := false
	measureKey := "name"
	if call := catalog.Lookup(a.Call); call != nil {
		measureKey = call.MeasureKey()
	}
	for i, kids := 0, mapping(a.With); i+1 < len(kids); i += 2 {
		k, v := kids[i].Value, kids[i+1]
		if k == measureKey {
			named = true
		}
		if kind == catalog.Custom && !isIdentifier(k) {
			c.fail(fmt.Errorf("%s:%d:%d: custom action argument %q is not an identifier", c.s.File, kids[i].Line, kids[i].Column, k))
			continue
		}
		argPos[k] = c.pos(v)
		args = append(args, fmt.Sprintf("%s%s = %s", c.mark(argPos[k], nil), k, c.value(v, c.actionScope, 2)))
	}
	if !named && kind != catalog.Sleep && kind != catalog.Custom {
		args = append([]string{measureKey + " = " + expr.Quote(a.ID)}, args...)
	}
	if _, given := argPos["discard_body"]; kind == catalog.HTTP && !given && !c.bodyRead[a.ID] {
		// Nothing reads this response's body: it is counted, not kept.
		args = append(args, "discard_body = True")
	}
	if len(a.Export) > 0 && kind != catalog.Sleep {
		argPos["export"] = a.Export[0].Pos
		for i, e := range a.Export {
			argPos[fmt.Sprintf("export[%d]", i)] = e.Pos
		}
		args = append(args, c.mark(a.Export[0].Pos, nil)+"export = "+c.exports(a.Export))
	}
	// A built-in's error is raised at its call: the call's span says
	// where each argument came from.
	at := c.mark(a.CallPos, argPos)
	var fn string
	switch kind {
	case catalog.HTTP, catalog.TCP, catalog.UDP, catalog.DNSQuery, catalog.WS:
		fn = catalog.Lookup(a.Call).Func
	case catalog.Sleep:
		fn = "sleep"
	case catalog.Custom:
		fn = "run_action"
		args = append([]string{expr.Quote(a.ID), c.moduleFn[a.Call], "user"}, args...)
	}
	var b strings.Builder
	b.WriteString(at)
	if len(args) == 0 {
		b.WriteString(fn + "()")
	} else {
		b.WriteString(fn + "(\n")
		for _, arg := range args {
			b.WriteString("        " + arg + ",\n")
		}
		b.WriteString("    )")
	}
	c.calls[a.ID] = b.String()
	return b.String()
}

// bodiesRead returns the actions whose response body may be read: by a
// template or condition that uses ACTION.body, ACTION.json or the result
// whole, or by an export of the action's own that takes a value out of
// the body. Templates are the only way a YAML scenario reaches a result,
// so the other actions' bodies can be counted and dropped unread. It
// also sets c.resultRead: the actions whose result any template or
// condition uses at all; the others' results are not kept in r.
func (c *compiler) bodiesRead() map[string]bool {
	read := map[string]bool{}
	c.resultRead = map[string]bool{}
	sc := *c.actionScope
	sc.AttrRefs = func(id, attr string) {
		c.resultRead[id] = true
		if attr == "" || attr == "body" || attr == "json" {
			read[id] = true
		}
	}
	templates := func(n *yaml.Node) {
		scenario.WalkStrings(n, func(s *yaml.Node) { _, _ = expr.Template(s.Value, &sc, nil) })
	}
	for _, a := range c.s.Actions {
		templates(a.With)
		for _, e := range a.Export {
			templates(e.Default)
			if e.Type == scenario.ExportContent || e.Type == scenario.ExportAssert {
				read[a.ID] = true
			}
		}
	}
	for _, w := range c.graphs {
		for _, n := range w.Nodes {
			for _, e := range n.Edges {
				if e.When != nil {
					_, _ = expr.Condition(e.When.Value, &sc, nil)
				}
			}
		}
	}
	return read
}

func isIdentifier(s string) bool {
	return s != "" && ident(s) == s && !('0' <= s[0] && s[0] <= '9')
}

func (c *compiler) exports(es []*scenario.Export) string {
	var b strings.Builder
	b.WriteString("[\n")
	for _, e := range es {
		fmt.Fprintf(&b, "            %s{\"type\": %s, \"name\": %s", c.mark(e.Pos, nil), expr.Quote(string(e.Type)), expr.Quote(e.Name))
		if e.Path != "" {
			fmt.Fprintf(&b, ", \"path\": %s", expr.Quote(e.Path))
		}
		if e.Scope != "action" {
			fmt.Fprintf(&b, ", \"scope\": %s", expr.Quote(string(e.Scope)))
		}
		if e.Default != nil {
			fmt.Fprintf(&b, ", \"default\": %s", c.value(e.Default, c.actionScope, 3))
		}
		b.WriteString("},\n")
	}
	b.WriteString("        ]")
	return b.String()
}

func (c *compiler) node(n *scenario.Node) {
	fns := c.nodeFn[c.wf]
	c.printf("%sdef %s(user, r):%s\n", c.mark(c.nodePos(n), nil), fns[n.ID], c.from(c.nodePos(n)))
	c.nodeAction(n)
	if n.Type == "end" || len(n.Edges) == 0 {
		c.printf("    return None\n\n")
		return
	}
	target := func(to string) string {
		if _, ok := fns[to]; ok {
			return expr.Quote(to)
		}
		return "None" // the implicit end node
	}
	first, always := true, false
	for _, e := range n.Edges {
		cond, isAlways := c.condition(e.When)
		at := ""
		if e.When != nil {
			at = c.mark(scenario.TemplatePos(c.s.File, e.When, max(0, strings.Index(e.When.Value, "{{"))), nil)
		}
		label := ""
		if e.Label != "" {
			label = "  # " + strings.ReplaceAll(e.Label, "\n", " ")
		}
		if isAlways {
			if first {
				c.printf("    return %s%s\n", target(e.To), label)
			} else {
				c.printf("    else:\n        return %s%s\n", target(e.To), label)
			}
			always = true
			break
		}
		kw := "elif"
		if first {
			kw = "if"
		}
		c.printf("    %s%s %s:%s\n        return %s\n", at, kw, cond, label, target(e.To))
		first = false
	}
	if !always {
		c.printf("    %sfail(%s, reason = \"no-edge\")\n", c.mark(c.nodePos(n), nil), expr.Quote(fmt.Sprintf("no edge of node %q holds", n.ID)))
	}
	c.printf("\n")
}

// nodeAction writes the call of node n's action, if it has one, as a
// statement of a function's body: the node makes its action's call
// itself (see actionCall). The lines after it are the node's again.
func (c *compiler) nodeAction(n *scenario.Node) {
	if n.Action == "" {
		return
	}
	a := c.s.Action(n.Action)
	call := c.actionCall(a)
	if a.Kind != catalog.Sleep && c.resultRead[n.Action] {
		call = strings.Replace(call, string(markClose), string(markClose)+"r["+expr.Quote(n.Action)+"] = ", 1)
	} // else nothing reads this result: it is not kept
	c.printf("    # action %s\n    %s\n", strings.ReplaceAll(n.Action, "\n", " "), call)
	c.printf("%s", c.mark(c.nodePos(n), nil))
}

// straight returns the node an iteration goes to after n whatever
// happens ("" for the end), and false when n's first edge has a
// condition.
func (c *compiler) straight(n *scenario.Node) (string, bool) {
	if n.Type == "end" || len(n.Edges) == 0 {
		return "", true
	}
	if _, always := c.condition(n.Edges[0].When); !always {
		return "", false
	}
	if _, ok := c.nodeFn[c.wf][n.Edges[0].To]; !ok {
		return "", true // the implicit end node
	}
	return n.Edges[0].To, true
}

// condition returns the Starlark test for an edge, and whether it always
// holds.
func (c *compiler) condition(n *yaml.Node) (string, bool) {
	if n == nil {
		return "", true
	}
	if n.Tag == "!!bool" {
		if n.Value == "true" || n.Value == "True" {
			return "", true
		}
		return "False", false
	}
	e, err := expr.Condition(n.Value, c.actionScope, nil)
	if err != nil {
		c.fail(fmt.Errorf("%s:%d:%d: %v", c.s.File, n.Line, n.Column, err))
	}
	return e, false
}

// flow emits the function that runs one iteration of workflow w: flow
// for a scenario's one workflow, flow_ID for a named one.
func (c *compiler) flow(w *scenario.Workflow) {
	// The flow's own errors (the step limit) are the graph's: they are
	// reported at the node the iteration starts from.
	start := scenario.Pos{File: c.s.File, Line: 1, Col: 1}
	if w.ID != "" {
		start = w.IDPos
	}
	for _, n := range w.Nodes {
		if n.ID == w.StartNode() {
			start = c.nodePos(n)
		}
	}
	dict, fn := c.nodesDict[w], "flow"
	if w.ID != "" {
		fn = c.flowFn[w.ID]
	}
	c.printf("%s%s = {\n", c.mark(start, nil), dict)
	for _, n := range w.Nodes {
		c.printf("    %s: %s,\n", expr.Quote(n.ID), c.nodeFn[w][n.ID])
	}
	c.printf("}\n\n")
	if w.ID != "" {
		c.printf("def %s(user):%s\n", fn, c.from(w.IDPos))
		c.printf("    \"\"\"Workflow %s: one iteration of a user that drew it.\"\"\"\n", strings.ReplaceAll(w.ID, `"`, `'`))
	} else {
		c.printf("def %s(user):\n", fn)
	}
	if len(c.resultRead) > 0 {
		c.printf("    r = results()\n")
	} else {
		c.printf("    r = None  # no template reads a result\n")
	}
	// The nodes every iteration goes through, from the start to the end
	// or to the first edge with a condition, are made here one after the
	// other: no node function called, no frame, no dispatch. The rest of
	// the graph is walked through NODES.
	nodes := map[string]*scenario.Node{}
	for _, n := range w.Nodes {
		nodes[n.ID] = n
	}
	at, visits := w.StartNode(), 0
	for at != "" {
		n := nodes[at]
		next, ok := c.straight(n)
		if !ok || visits == len(w.Nodes) { // a condition, or a loop of unconditional edges
			break
		}
		c.printf("    # node %s\n", strings.ReplaceAll(n.ID, "\n", " "))
		c.nodeAction(n)
		at = next
		visits++
	}
	if at == "" { // the end: nothing is left to walk
		if visits == 0 {
			c.printf("    pass\n")
		}
		if w.ID != "" {
			c.printf("\n")
		}
		return
	}
	c.printf("    %snode = %s\n", c.mark(start, nil), expr.Quote(at))
	if n := len(w.Nodes) - visits; n <= maxUnrolled && acyclic(w) {
		// No node can be visited twice: at most n visits, one after
		// the other, and no loop (nor its allocations) to bound them.
		for i := 0; i < n; i++ {
			c.printf("    node = %s[node](user, r)\n", dict)
			if i < n-1 {
				c.printf("    if node == None:\n")
				c.printf("        return\n")
			}
		}
		if w.ID != "" {
			c.printf("\n")
		}
		return
	}
	c.printf("    for _ in range(%d):\n", MaxNodeVisits-visits)
	c.printf("        node = %s[node](user, r)\n", dict)
	c.printf("        if node == None:\n")
	c.printf("            return\n")
	c.printf("    fail(\"the iteration visited %d nodes without reaching the end\", reason = \"step-limit\")\n", MaxNodeVisits)
	if w.ID != "" {
		c.printf("\n")
	}
}

// flowsList emits the user mix of named workflows as the scenario dict's
// flows: each user draws one by weight (spec §4.3).
func (c *compiler) flowsList() {
	if len(c.s.Workflows) == 0 {
		return
	}
	c.printf("%sscenario[\"flows\"] = [\n", c.mark(c.s.Workflows[0].Pos, nil))
	for _, w := range c.s.Workflows {
		c.printf("    %s{\"id\": %s, \"fn\": %s, \"weight\": %s},\n", c.mark(w.Pos, nil), expr.Quote(w.ID), c.flowFn[w.ID], weight(w.Weight))
	}
	c.printf("]\n")
}

// weight writes a flow's weight as Starlark: a whole number as an int.
func weight(w float64) string {
	if w == math.Trunc(w) && math.Abs(w) < 1e15 {
		return strconv.FormatInt(int64(w), 10)
	}
	return strconv.FormatFloat(w, 'g', -1, 64)
}

// maxUnrolled is the most nodes a workflow without cycles may have for
// its flow to visit them in straight-line code rather than a loop.
const maxUnrolled = 8

// acyclic reports whether no path of w's graph leads back to a node it
// went through: then no iteration visits a node twice.
func acyclic(w *scenario.Workflow) bool {
	nodes := map[string]*scenario.Node{}
	for _, n := range w.Nodes {
		nodes[n.ID] = n
	}
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var visit func(id string) bool
	visit = func(id string) bool {
		n := nodes[id]
		if n == nil { // the implicit end
			return true
		}
		switch state[id] {
		case open:
			return false
		case done:
			return true
		}
		state[id] = open
		for _, e := range n.Edges {
			if !visit(e.To) {
				return false
			}
		}
		state[id] = done
		return true
	}
	for _, n := range w.Nodes {
		if !visit(n.ID) {
			return false
		}
	}
	return true
}

// pos is where n was written in the YAML.
func (c *compiler) pos(n *yaml.Node) scenario.Pos {
	if n == nil {
		return scenario.Pos{File: c.s.File}
	}
	return scenario.Pos{File: c.s.File, Line: n.Line, Col: n.Column}
}

// from is a comment saying where in the YAML a function comes from, for
// a reader of the printed program.
func (c *compiler) from(p scenario.Pos) string {
	if p.Line == 0 {
		return ""
	}
	return fmt.Sprintf("  # %s:%d:%d", filepath.Base(p.File), p.Line, p.Col)
}

// nodePos is where a node of the graph was written: its id.
func (c *compiler) nodePos(n *scenario.Node) scenario.Pos {
	if n.IDPos.Line > 0 {
		return n.IDPos
	}
	return n.Pos
}

// hook emits the setup or teardown function that runs steps in order
// (spec §4.3). An action that fails ends it with an error, which the
// runtime reports as the run's failure.
func (c *compiler) hook(what, sig, doc string, steps []scenario.Step) {
	if len(steps) == 0 {
		return
	}
	c.printf("\ndef %s:\n", sig)
	c.printf("    \"\"\"%s\"\"\"\n", doc)
	c.printf("    r = results()\n")
	for _, st := range steps {
		a := c.s.Action(st.Action)
		fn := c.actionFn[st.Action]
		if a.Kind == catalog.Sleep {
			c.printf("    %s%s(None, r)%s\n", c.mark(st.Pos, nil), fn, c.from(st.Pos))
			continue
		}
		id := expr.Quote(st.Action)
		c.printf("    %sr[%s] = %s(None, r)%s\n", c.mark(st.Pos, nil), id, fn, c.from(st.Pos))
		c.printf("    if not r[%s].ok:\n", id)
		c.printf("        %sfail(%s, r[%s].error)\n", c.mark(st.Pos, nil), expr.Quote(fmt.Sprintf("action %q failed:", st.Action)), id)
	}
	c.printf("    return None\n")
}

// value renders a with value: strings as templates, the rest as literals.
// A template's expression starts a span at its first {{, where an error
// evaluating it is reported.
func (c *compiler) value(n *yaml.Node, sc *expr.Scope, depth int) string {
	return c.render(n, depth, func(s *yaml.Node) string {
		if !expr.HasTemplate(s.Value) {
			return expr.Quote(s.Value)
		}
		e, err := expr.Template(s.Value, sc, nil)
		if err != nil {
			c.fail(fmt.Errorf("%s:%d:%d: %v", c.s.File, s.Line, s.Column, err))
			return "None"
		}
		return c.mark(scenario.TemplatePos(c.s.File, s, strings.Index(s.Value, "{{")), nil) + e
	})
}

// literal renders a node with no templates.
func (c *compiler) literal(n *yaml.Node, depth int) string {
	return c.render(n, depth, func(s *yaml.Node) string { return expr.Quote(s.Value) })
}

func (c *compiler) render(n *yaml.Node, depth int, str func(*yaml.Node) string) string {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return "None"
	}
	indent := strings.Repeat("    ", depth+1)
	closing := strings.Repeat("    ", depth)
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return "{}"
		}
		var b strings.Builder
		b.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			fmt.Fprintf(&b, "%s%s: %s,\n", indent, expr.Quote(n.Content[i].Value), c.render(n.Content[i+1], depth+1, str))
		}
		b.WriteString(closing + "}")
		return b.String()
	case yaml.SequenceNode:
		nested := false
		parts := make([]string, len(n.Content))
		for i, x := range n.Content {
			parts[i] = c.render(x, depth+1, str)
			nested = nested || strings.Contains(parts[i], "\n")
		}
		if !nested {
			return "[" + strings.Join(parts, ", ") + "]"
		}
		return "[\n" + indent + strings.Join(parts, ",\n"+indent) + ",\n" + closing + "]"
	}
	switch n.Tag {
	case "!!null":
		return "None"
	case "!!bool":
		var v bool
		_ = n.Decode(&v)
		if v {
			return "True"
		}
		return "False"
	case "!!int":
		if v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return strconv.FormatInt(v, 10)
		}
	case "!!float":
		var v float64
		if err := n.Decode(&v); err == nil {
			switch {
			case math.IsNaN(v):
				return `float("nan")`
			case math.IsInf(v, 1):
				return `float("inf")`
			case math.IsInf(v, -1):
				return `float("-inf")`
			}
			s := strconv.FormatFloat(v, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eEn") {
				s += ".0"
			}
			return s
		}
	}
	return str(n)
}
