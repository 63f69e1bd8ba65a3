package scenario

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/data"
	"github.com/ntx-dev/ntx/engine/internal/pool"
)

// RunKeys are the keys of a scenario that configure a run rather than
// define what users do: the keys a .star file's `scenario` dict may hold.
var RunKeys = catalog.RunKeys()

// Options tune how a scenario is checked.
type Options struct {
	// Env reports whether env.NAME will be set when the scenario runs,
	// so that a template reading one that will not, with no default, is
	// an error. Nil leaves env unchecked (ntx compile: the run's
	// environment is not known).
	Env func(name string) bool
}

// Parse reads a YAML scenario of either dialect and checks it. The error,
// if any, is an ErrorList with every problem found. Warnings are kept in
// the returned scenario even when it is valid.
func Parse(file string, src []byte) (*Scenario, error) {
	return ParseWith(file, src, Options{})
}

// ParseWith is Parse with options.
func ParseWith(file string, src []byte, opts Options) (*Scenario, error) {
	d := &decoder{file: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		d.errs = append(d.errs, yamlError(file, err))
		return nil, d.errs.Err()
	}
	if d.overBudget(&doc) { // alias cycles and bombs: refuse before anything expands them
		return nil, d.errs.Err()
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	s := &Scenario{File: file}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "a scenario must be a mapping with keys such as name, actions and tasks, not %s", kindName(root))
		return nil, d.errs.Err()
	}
	before := len(d.errs)
	top := d.fields(root, "the scenario", catalog.Scenario.Names()...)
	typo := len(d.errs) > before // an unknown top-level key, likely a misspelt section
	_, flat := top["tasks"]
	wf, hasWF := top["workflows"]
	wb, hasWB := top["workbook"]
	if flat && (hasWF || hasWB) {
		other := wf
		if !hasWF {
			other = wb
		}
		d.errorf(other.key, "this file mixes both dialects: `tasks:` (flat, line %d) and `%s:` (workbook); use one", top["tasks"].key.Line, other.key.Value)
	}
	if !flat && !hasWF && !hasWB && !typo {
		d.errorf(root, "a scenario needs `tasks:` (flat dialect) or `workflows:` (workbook dialect)")
	}
	d.config(s, top)
	if hasWB {
		d.workbook(s, top, wb, catalog.Workbook.Names()...)
	}
	for _, k := range []string{"setup", "teardown"} {
		if f, ok := top[k]; ok {
			steps := d.steps(f.value, k)
			if k == "setup" {
				s.Setup = steps
			} else {
				s.Teardown = steps
			}
		}
	}
	if f, ok := top["actions"]; ok {
		d.actions(s, f.value)
	}
	if flat {
		d.tasks(s, top["tasks"].value)
	} else if hasWF {
		d.workflows(s, wf.value)
	}
	// Validate even a scenario that did not decode cleanly, so that every
	// problem of the file is reported in one go.
	validate(s, d, opts)
	return s, d.errs.Err()
}

// workbook decodes the keys nested under `workbook:`, which may hold the
// keys given, each at most once in the file.
func (d *decoder) workbook(s *Scenario, top map[string]field, wb field, keys ...string) {
	inner := d.fields(wb.value, "workbook", keys...)
	for _, k := range keys {
		f, ok := inner[k]
		if !ok {
			continue
		}
		if prev, dup := top[k]; dup {
			d.errorf(f.key, "%s is given both at the top level (line %d) and under workbook:", k, prev.key.Line)
		}
	}
	d.config(s, inner)
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// yamlError turns a yaml.v3 syntax error into a positioned Error. yaml.v3
// reports only the line, so the column is 1.
func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = strings.TrimSpace(strings.Replace(msg, m[0]+":", "", 1))
	}
	if errors.Is(err, errEmpty) || msg == "EOF" {
		msg = "the file is empty"
	}
	return &Error{Pos: Pos{File: file, Line: line, Col: 1}, Msg: "YAML syntax: " + msg}
}

var errEmpty = errors.New("EOF")

// config decodes the keys a .star scenario dict may also hold.
func (d *decoder) config(s *Scenario, f map[string]field) {
	if s.Config == nil {
		s.Config = map[string]*yaml.Node{}
	}
	for _, k := range RunKeys {
		if v, ok := f[k]; ok {
			s.Config[k] = v.value
		}
	}
	if v, ok := f["name"]; ok {
		s.Name = d.str(v.value, "name")
	}
	if v, ok := f["version"]; ok {
		s.Version = d.str(v.value, "version")
	}
	if v, ok := f["description"]; ok {
		d.str(v.value, "description")
	}
	if v, ok := f["ip_pools"]; ok {
		for _, n := range d.list(v.value, "ip_pools") {
			d.pool(s, n)
		}
	}
	if v, ok := f["resources"]; ok {
		for _, n := range d.list(v.value, "resources") {
			id, props, rf := d.named(n, "resource", catalog.Resource)
			r := &Resource{ID: id, Props: props, Pos: d.pos(n)}
			if x, ok := rf["type"]; ok {
				r.Type = d.str(x.value, "resource type")
			}
			s.Resources = append(s.Resources, r)
		}
	}
	if v, ok := f["variables"]; ok {
		s.Variables = d.mapping(v.value, "variables")
	}
	if v, ok := f["tenants"]; ok {
		for _, n := range d.list(v.value, "tenants") {
			id, props, tf := d.named(n, "tenant", catalog.Tenant)
			if x, ok := tf["name"]; ok {
				d.str(x.value, "tenant name")
			}
			s.Tenants = append(s.Tenants, &Tenant{ID: id, Props: props, Pos: d.pos(n)})
		}
	}
	if v, ok := f["modules"]; ok {
		m := d.mapping(v.value, "modules")
		if m != nil {
			for i := 0; i+1 < len(m.Content); i += 2 {
				k, p := m.Content[i], m.Content[i+1]
				name := k.Value
				if !starlarkIdent.MatchString(name) {
					d.errorf(k, "module name %q must be a Starlark identifier (letters, digits, _)", name)
				}
				s.Modules = append(s.Modules, &Module{Name: name, Path: d.str(p, "module path"), Pos: d.pos(p)})
			}
		}
	}
	if v, ok := f["data"]; ok {
		for _, n := range d.list(v.value, "data") {
			d.dataset(s, n)
		}
	}
	if v, ok := f["http"]; ok {
		d.httpSection(s, v.value)
	}
	if v, ok := f["load"]; ok {
		d.load(s, v.value)
	}
	if v, ok := f["thresholds"]; ok {
		for _, n := range d.list(v.value, "thresholds") {
			s.Thresholds = append(s.Thresholds, d.threshold(n))
		}
	}
}

// threshold decodes an entry of thresholds: a string, or a mapping
// {expr, abort_on_fail, delay}.
func (d *decoder) threshold(n *yaml.Node) Threshold {
	if m := deref(n); m == nil || m.Kind != yaml.MappingNode {
		return Threshold{Expr: d.str(n, "a threshold"), Pos: d.pos(n)}
	}
	f := d.fields(n, "a threshold", catalog.Threshold.Names()...)
	t := Threshold{Pos: d.pos(n)}
	if x, ok := f["expr"]; ok {
		t.Expr, t.Pos = d.str(x.value, "a threshold's expr"), d.pos(x.value)
	} else {
		d.errorf(n, "a threshold given as a mapping needs expr (e.g. {expr: \"api.error_rate < 1%%\", abort_on_fail: true})")
	}
	if x, ok := f["abort_on_fail"]; ok {
		t.AbortOnFail = d.boolean(x.value, "abort_on_fail")
	}
	if x, ok := f["delay"]; ok {
		t.Delay = d.duration(x.value, "delay")
	}
	return t
}

// named decodes an entry made of an id, properties and the extra keys
// given (a resource or a tenant), returning the fields for the extras.
func (d *decoder) named(n *yaml.Node, what string, o *catalog.Obj) (id string, props *yaml.Node, f map[string]field) {
	f = d.fields(n, "a "+what, o.Names()...)
	if x, ok := f["id"]; ok {
		id = d.id(x.value, what+" id")
	} else if deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "a %s needs an id", what)
	}
	if x, ok := f["properties"]; ok {
		props = d.mapping(x.value, what+" properties")
	}
	return id, props, f
}

// steps decodes setup: or teardown:, a list of action ids.
func (d *decoder) steps(n *yaml.Node, what string) []Step {
	var out []Step
	for _, e := range d.list(n, what) {
		out = append(out, Step{Action: d.str(e, what+" entry (an action id)"), Pos: d.pos(e)})
	}
	return out
}

// dataset decodes an entry of data:. Its file is read when the scenario
// is checked.
func (d *decoder) dataset(s *Scenario, n *yaml.Node) {
	f := d.fields(n, "a dataset", catalog.Dataset.Names()...)
	ds := &Dataset{Pos: d.pos(n), Order: data.PerUser, OnExhausted: data.StopUser}
	ds.FilePos = ds.Pos
	if x, ok := f["id"]; ok {
		ds.ID = d.str(x.value, "dataset id")
		ds.Pos = d.pos(x.value)
		if ds.ID != "" && !starlarkIdent.MatchString(ds.ID) {
			d.errorf(x.value, "dataset id %q must be an identifier (letters, digits, _), as it is read as data.%s.COLUMN", ds.ID, ds.ID)
		}
	} else if deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "a dataset needs an id")
	}
	if x, ok := f["file"]; ok {
		ds.File = d.str(x.value, "dataset file")
		ds.FilePos = d.pos(x.value)
	} else if deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "dataset %q needs a file (a .csv with a header row, or a .json list of objects)", ds.ID)
	}
	if x, ok := f["order"]; ok {
		ds.Order = oneOf(d, x.value, "order", choices[data.Order](catalog.Dataset, "order")...)
	}
	if x, ok := f["on_exhausted"]; ok {
		ds.OnExhausted = oneOf(d, x.value, "on_exhausted", choices[data.OnExhausted](catalog.Dataset, "on_exhausted")...)
		ds.OnExhaustedPos = d.pos(x.key)
	}
	s.Datasets = append(s.Datasets, ds)
}

var starlarkIdent = regexp.MustCompile(catalog.IdentifierPattern)

func (d *decoder) pool(s *Scenario, n *yaml.Node) {
	f := d.fields(n, "an ip pool", catalog.Pool.Names()...)
	p := &Pool{Pos: d.pos(n), Strategy: pool.RoundRobin}
	if x, ok := f["name"]; ok {
		p.Name = d.str(x.value, "pool name")
	}
	if x, ok := f["id"]; ok {
		p.ID = d.id(x.value, "pool id")
	} else if p.Name != "" {
		p.ID = p.Name // the flat dialect names pools by `name`
	} else if deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "an ip pool needs an id (or a name)")
	}
	p.SpecPos = map[string]Pos{}
	specs := func(n *yaml.Node, what string) []string {
		out := d.strs(n, what)
		n = deref(n)
		for i, s := range out {
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				p.SpecPos[s] = d.pos(n.Content[i])
			} else {
				p.SpecPos[s] = d.pos(n)
			}
		}
		return out
	}
	for _, k := range []string{"ips", "ranges"} {
		if x, ok := f[k]; ok {
			p.Ranges = append(p.Ranges, specs(x.value, "pool "+k)...)
		}
	}
	if x, ok := f["exclude"]; ok {
		p.Exclude = specs(x.value, "pool exclude")
	}
	if x, ok := f["allocation_strategy"]; ok {
		p.Strategy = pool.ParseStrategy(d.oneOf(x.value, "allocation_strategy", catalog.Pool.Values("allocation_strategy")...))
	}
	if _, a := f["ips"]; !a {
		if _, b := f["ranges"]; !b && deref(n).Kind == yaml.MappingNode {
			d.errorf(n, "ip pool %q has no addresses: give ips or ranges", p.ID)
		}
	}
	s.Pools = append(s.Pools, p)
}

func (d *decoder) oneOf(n *yaml.Node, what string, choices ...string) string {
	return oneOf(d, n, what, choices...)
}

// oneOf reads one of the values of an enumeration; choices[0] stands in
// for a missing or wrong one.
func oneOf[T ~string](d *decoder, n *yaml.Node, what string, choices ...T) T {
	v := T(d.str(n, what))
	if v != "" && !slices.Contains(choices, v) {
		names := make([]string, len(choices))
		for i, c := range choices {
			names[i] = string(c)
		}
		d.errorf(n, "%s must be one of %s, not %q%s", what, strings.Join(names, ", "), v, didYouMean(string(v), names))
		return choices[0]
	}
	if v == "" {
		return choices[0]
	}
	return v
}

// choices returns the values the catalog lists for the enum key of o,
// typed.
func choices[T ~string](o *catalog.Obj, key string) []T {
	vs := o.Values(key)
	out := make([]T, len(vs))
	for i, v := range vs {
		out[i] = T(v)
	}
	return out
}

func (d *decoder) load(s *Scenario, n *yaml.Node) {
	l := &s.Load
	l.Set = true
	f := d.fields(n, "load", catalog.Load.Names()...)
	if x, ok := f["ramp_up"]; ok {
		rf := d.fields(x.value, "ramp_up", catalog.RampUp.Names()...)
		if p, ok := rf["phases"]; ok {
			for _, pn := range d.list(p.value, "phases") {
				l.Phases = append(l.Phases, d.phase(pn))
			}
		}
	}
	if x, ok := f["user_lifetime"]; ok {
		errs := len(d.errs)
		l.Lifetime.Pos = d.pos(x.key)
		lf := d.fields(x.value, "user_lifetime", catalog.Lifetime.Names()...)
		if v, ok := lf["mode"]; ok {
			l.Lifetime.Mode = oneOf(d, v.value, "mode", choices[LifetimeMode](catalog.Lifetime, "mode")...)
		}
		if v, ok := lf["iterations"]; ok {
			l.Lifetime.Iterations = d.integer(v.value, "iterations", 0)
		}
		if v, ok := lf["think_time"]; ok {
			if deref(v.value).Kind == yaml.MappingNode {
				tf := d.fields(v.value, "think_time", catalog.ThinkTime.Names()...)
				if m, ok := tf["min"]; ok {
					l.Lifetime.ThinkMin = d.duration(m.value, "think_time.min")
				}
				if m, ok := tf["max"]; ok {
					l.Lifetime.ThinkMax = d.duration(m.value, "think_time.max")
				}
				if l.Lifetime.ThinkMax < l.Lifetime.ThinkMin {
					d.errorf(v.value, "think_time.max (%s) is less than think_time.min (%s)", l.Lifetime.ThinkMax, l.Lifetime.ThinkMin)
				}
			} else {
				l.Lifetime.ThinkMin = d.duration(v.value, "think_time")
				l.Lifetime.ThinkMax = l.Lifetime.ThinkMin
			}
		}
		l.Lifetime.Faulty = len(d.errs) > errs
	}
	if x, ok := f["user_resources"]; ok {
		uf := d.fields(x.value, "user_resources", catalog.UserResources.Names()...)
		if b, ok := uf["ip_binding"]; ok {
			bf := d.fields(b.value, "ip_binding", catalog.Binding.Names()...)
			l.Binding.Enabled = true
			l.Binding.Pos = d.pos(b.value)
			if v, ok := bf["enabled"]; ok {
				l.Binding.Enabled = d.boolean(v.value, "ip_binding.enabled")
			}
			if v, ok := bf["pool_id"]; ok {
				l.Binding.PoolID = d.str(v.value, "ip_binding.pool_id")
				l.Binding.Pos = d.pos(v.value)
			}
			if v, ok := bf["strategy"]; ok {
				l.Binding.Strategy = oneOf(d, v.value, "ip_binding.strategy", choices[BindStrategy](catalog.Binding, "strategy")...)
			}
			if v, ok := bf["release_on"]; ok {
				l.Binding.ReleaseOn = oneOf(d, v.value, "release_on", choices[ReleaseOn](catalog.Binding, "release_on")...)
			}
		}
		if c, ok := uf["capacity_management"]; ok {
			cf := d.fields(c.value, "capacity_management", catalog.Capacity.Names()...)
			if v, ok := cf["wait_on_exhaustion"]; ok {
				l.Capacity.WaitOnExhaustion = d.boolean(v.value, "wait_on_exhaustion")
			}
			if v, ok := cf["wait_timeout"]; ok {
				l.Capacity.WaitTimeout = d.duration(v.value, "wait_timeout")
			}
			if v, ok := cf["fallback_pool"]; ok {
				l.Capacity.FallbackPool = d.str(v.value, "fallback_pool")
			}
		}
	}
	if x, ok := f["concurrency"]; ok {
		cf := d.fields(x.value, "concurrency", catalog.Concurrency.Names()...)
		if v, ok := cf["max_concurrent_users"]; ok {
			l.Concurrency.MaxUsers = d.integer(v.value, "max_concurrent_users", 1)
		}
		if v, ok := cf["spawn_rate_limit"]; ok {
			l.Concurrency.SpawnRate = d.rate(v.value, "spawn_rate_limit")
		}
		if v, ok := cf["action_rate_limit"]; ok {
			l.Concurrency.ActionRate = d.rate(v.value, "action_rate_limit")
		}
	}
	if x, ok := f["duration"]; ok {
		l.Duration = d.duration(x.value, "duration")
	}
	if x, ok := f["graceful_stop"]; ok {
		l.GracefulStop = d.duration(x.value, "graceful_stop")
	}
	if x, ok := f["arrival"]; ok {
		af := d.fields(x.value, "arrival", catalog.Arrival.Names()...)
		a := &Arrival{Pos: d.pos(x.value)}
		if v, ok := af["rate"]; ok {
			a.Rate = d.rate(v.value, "arrival.rate")
		} else {
			d.errorf(x.value, "arrival needs a rate such as 50/s")
		}
		if v, ok := af["duration"]; ok {
			a.Duration = d.duration(v.value, "arrival.duration")
		}
		if v, ok := af["max_users"]; ok {
			a.MaxUsers = d.integer(v.value, "arrival.max_users", 1)
		}
		l.Arrival = a
	}
}

func (d *decoder) phase(n *yaml.Node) Phase {
	f := d.fields(n, "a phase", catalog.Phase.Names()...)
	p := Phase{Pos: d.pos(n)}
	if v, ok := f["at_second"]; ok {
		p.At = d.duration(v.value, "at_second")
	}
	if v, ok := f["spawn_users"]; ok {
		p.Users = d.integer(v.value, "spawn_users", 0)
	} else if deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "a phase needs spawn_users")
	}
	if v, ok := f["spread"]; ok {
		p.Spread = d.duration(v.value, "spread")
	}
	p.TenantPos, p.PoolPos, p.WorkflowPos = p.Pos, p.Pos, p.Pos
	if v, ok := f["tenant_id"]; ok {
		p.Tenant = d.str(v.value, "tenant_id")
		p.TenantPos = d.pos(v.value)
	}
	if v, ok := f["ip_pool_override"]; ok {
		p.Pool = d.str(v.value, "ip_pool_override")
		p.PoolPos = d.pos(v.value)
	}
	if v, ok := f["workflow"]; ok {
		p.Workflow = d.str(v.value, "workflow")
		p.WorkflowPos = d.pos(v.value)
	}
	if v, ok := f["name"]; ok {
		d.str(v.value, "phase name")
	}
	return p
}

func (d *decoder) actions(s *Scenario, n *yaml.Node) {
	n = deref(n)
	if n.Kind == yaml.MappingNode {
		f := d.fields(n, "actions", catalog.ActionsSection.Names()...)
		n = nil
		if v, ok := f["actions"]; ok {
			n = v.value
		}
	}
	for _, an := range d.list(n, "actions") {
		before := len(d.errs)
		f := d.fields(an, "an action", catalog.Action.Names()...)
		a := &Action{Pos: d.pos(an)}
		a.CallPos = a.Pos
		if v, ok := f["id"]; ok {
			a.ID = d.id(v.value, "action id")
			a.Pos = d.pos(v.value)
		} else if deref(an).Kind == yaml.MappingNode {
			d.errorf(an, "an action needs an id")
		}
		if v, ok := f["call"]; ok {
			a.Call = d.str(v.value, "call")
			a.Kind = CallKind(a.Call)
			a.CallPos = d.pos(v.value)
		} else if deref(an).Kind == yaml.MappingNode {
			d.errorf(an, "action %q needs `call:` (http.request, get, tcp.request, udp.request, sleep or MODULE.FUNCTION)", a.ID)
		}
		for _, k := range []string{"name", "description"} {
			if v, ok := f[k]; ok {
				d.str(v.value, k)
			}
		}
		if v, ok := f["with"]; ok {
			a.With = d.mapping(v.value, "with")
		}
		if v, ok := f["export"]; ok {
			for _, en := range d.list(v.value, "export") {
				a.Export = append(a.Export, d.export(en))
			}
		}
		a.broken = len(d.errs) > before
		s.Actions = append(s.Actions, a)
	}
}

func (d *decoder) export(n *yaml.Node) *Export {
	f := d.fields(n, "an export", catalog.Export.Names()...)
	e := &Export{Pos: d.pos(n), Type: ExportContent, Scope: ScopeAction}
	if v, ok := f["type"]; ok {
		e.Type = oneOf(d, v.value, "export type", choices[ExportType](catalog.Export, "type")...)
	}
	if v, ok := f["name"]; ok {
		e.Name = d.str(v.value, "export name")
		if e.Name != "" && !starlarkIdent.MatchString(e.Name) {
			d.errorf(v.value, "export name %q must be an identifier (letters, digits, _)", e.Name)
		}
	} else if deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "an export needs a name")
	}
	if v, ok := f["path"]; ok {
		e.Path = d.str(v.value, "export path")
	}
	if v, ok := f["scope"]; ok {
		e.Scope = oneOf(d, v.value, "export scope", choices[ExportScope](catalog.Export, "scope")...)
	}
	if v, ok := f["default"]; ok {
		e.Default = v.value
	}
	if v, ok := f["equals"]; ok {
		if e.Default != nil {
			d.errorf(v.key, "give an assert's expected value as default or equals, not both")
		}
		e.Default = v.value
	}
	return e
}

// tasks decodes the flat dialect's task list.
func (d *decoder) tasks(s *Scenario, n *yaml.Node) {
	for _, tn := range d.list(n, "tasks") {
		f := d.fields(tn, "a task", catalog.Task.Names()...)
		node := &Node{Pos: d.pos(tn), Type: NodePass}
		d.nodeHead(node, f, tn, "task")
		if v, ok := f["action"]; ok {
			node.Action = d.str(v.value, "task action")
			node.Type = NodeAction
		}
		if node.ID == EndNode && node.Action == "" {
			node.Type = NodeEnd
		}
		if v, ok := f["next"]; ok {
			nexts := []*yaml.Node{v.value}
			if deref(v.value).Kind == yaml.SequenceNode {
				nexts = d.list(v.value, "next")
			}
			for _, en := range nexts {
				e := &Edge{Pos: d.pos(en)}
				if deref(en).Kind == yaml.ScalarNode {
					e.To = d.str(en, "next task")
				} else {
					ef := d.fields(en, "a next entry", catalog.Next.Names()...)
					if t, ok := ef["task"]; ok {
						e.To = d.str(t.value, "next task")
						e.Pos = d.pos(t.value)
					} else if deref(en).Kind == yaml.MappingNode {
						d.errorf(en, "a next entry needs `task:`")
					}
					if w, ok := ef["when"]; ok {
						e.When = w.value
					}
					if l, ok := ef["label"]; ok {
						e.Label = d.str(l.value, "label")
					}
				}
				node.Edges = append(node.Edges, e)
			}
		}
		s.Nodes = append(s.Nodes, node)
	}
}

// nodeHead decodes what a task and a node share: the id, and a name and
// description that are read for their type only. what is "task" or "node".
func (d *decoder) nodeHead(node *Node, f map[string]field, n *yaml.Node, what string) {
	if v, ok := f["id"]; ok {
		node.ID = d.id(v.value, what+" id")
		node.IDPos = d.pos(v.value)
	} else if deref(n).Kind == yaml.MappingNode {
		d.errorf(n, "a %s needs an id", what)
	}
	for _, k := range []string{"name", "description"} {
		if v, ok := f[k]; ok {
			d.str(v.value, k)
		}
	}
}

// workflows decodes the workbook dialect's node graph: one, or a list
// of named workflows (a user mix, spec §4.3).
func (d *decoder) workflows(s *Scenario, n *yaml.Node) {
	if deref(n) != nil && deref(n).Kind == yaml.SequenceNode {
		d.workflowList(s, n)
		return
	}
	f := d.fields(n, "workflows", catalog.Workflows.Names()...)
	v, ok := f["nodes"]
	if !ok {
		d.errorf(n, "workflows needs a list of nodes (or a list of named workflows, each with id, weight and nodes)")
		return
	}
	s.Nodes = d.nodes(v.value)
}

// workflowList decodes the list form of workflows: named workflows, each
// with a weight and its own graph.
func (d *decoder) workflowList(s *Scenario, n *yaml.Node) {
	entries := d.list(n, "workflows")
	if len(entries) == 0 {
		d.errorf(n, "workflows is an empty list: give at least one workflow (id, weight, nodes)")
		return
	}
	for _, wn := range entries {
		f := d.fields(wn, "a workflow", catalog.Workflow.Names()...)
		w := &Workflow{Weight: 1, Pos: d.pos(wn)}
		w.IDPos = w.Pos
		if x, ok := f["id"]; ok {
			w.ID = d.id(x.value, "workflow id")
			w.IDPos = d.pos(x.value)
		} else if deref(wn).Kind == yaml.MappingNode {
			d.errorf(wn, "a workflow needs an id (results count its iterations under it)")
		}
		if x, ok := f["weight"]; ok {
			w.Weight = d.weight(x.value, "workflow weight")
		}
		for _, k := range []string{"name", "description"} {
			if x, ok := f[k]; ok {
				d.str(x.value, k)
			}
		}
		if x, ok := f["nodes"]; ok {
			w.Nodes = d.nodes(x.value)
			if len(w.Nodes) == 0 && (isNull(x.value) || deref(x.value).Kind == yaml.SequenceNode) {
				d.errorf(x.value, "workflow %q has no nodes: nothing would run", w.ID)
			}
		} else if deref(wn).Kind == yaml.MappingNode {
			d.errorf(wn, "workflow %q needs a list of nodes", w.ID)
		}
		s.Workflows = append(s.Workflows, w)
	}
	d.weightSum(s)
}

// weightSum refuses weights whose sum is not a finite number: the draw
// divides by it.
func (d *decoder) weightSum(s *Scenario) {
	sum := 0.0
	for _, w := range s.Workflows {
		sum += w.Weight
	}
	if math.IsInf(sum, 0) && len(s.Workflows) > 0 {
		d.errs.Add(s.Workflows[0].Pos, "the workflows' weights add up to more than a number can hold: give smaller weights (only their ratios matter)")
	}
}

// weight reads a flow's weight: a number above 0.
func (d *decoder) weight(n *yaml.Node, what string) float64 {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		var v float64
		if err := n.Decode(&v); err == nil && v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			return v
		}
		d.errorf(n, "%s must be a number above 0, not %s", what, n.Value)
		return 1
	}
	d.errorf(n, "%s must be a number above 0, not %s", what, kindName(n))
	return 1
}

// nodes decodes a list of workbook nodes.
func (d *decoder) nodes(n *yaml.Node) []*Node {
	var out []*Node
	for _, nn := range d.list(n, "nodes") {
		nf := d.fields(nn, "a node", catalog.Node.Names()...)
		node := &Node{Pos: d.pos(nn), Type: NodeAction}
		d.nodeHead(node, nf, nn, "node")
		if x, ok := nf["type"]; ok {
			node.Type = oneOf(d, x.value, "node type", choices[NodeType](catalog.Node, "type")...)
			if node.Type == "start" {
				node.Type = NodePass
			}
		} else if _, hasAction := nf["action"]; !hasAction {
			node.Type = NodePass
			if node.ID == EndNode {
				node.Type = NodeEnd
			}
		}
		if x, ok := nf["action"]; ok {
			node.Action = d.str(x.value, "node action")
			if node.Type != NodeAction {
				d.errorf(x.key, "a node of type %s takes no action", node.Type)
			}
		} else if node.Type == NodeAction && deref(nn).Kind == yaml.MappingNode {
			d.errorf(nn, "node %q is of type action but names no action", node.ID)
		}
		if x, ok := nf["edges"]; ok {
			for _, en := range d.list(x.value, "edges") {
				ef := d.fields(en, "an edge", catalog.Edge.Names()...)
				e := &Edge{Pos: d.pos(en)}
				if t, ok := ef["to"]; ok {
					e.To = d.str(t.value, "edge target")
					e.Pos = d.pos(t.value)
				} else if deref(en).Kind == yaml.MappingNode {
					d.errorf(en, "an edge needs `to:`")
				}
				if l, ok := ef["label"]; ok {
					e.Label = d.str(l.value, "label")
				}
				if t, ok := ef["trigger"]; ok {
					tf := d.fields(t.value, "a trigger", catalog.Trigger.Names()...)
					if c, ok := tf["condition"]; ok {
						e.When = c.value
					}
				}
				if w, ok := ef["when"]; ok {
					if e.When != nil {
						d.errorf(w.key, "give an edge's condition as trigger.condition or when, not both")
					}
					e.When = w.value
				}
				node.Edges = append(node.Edges, e)
			}
		}
		out = append(out, node)
	}
	return out
}
