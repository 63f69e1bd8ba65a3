// Package scenario is the model of an ntx scenario and its loader: both
// YAML dialects of the scenario language (spec §2), and the `scenario`
// dict of a .star file, decode into one Scenario, checked with every
// problem reported at FILE:LINE:COL.
package scenario

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is one parsed scenario.
type Scenario struct {
	File       string
	Name       string
	Version    string
	Pools      []*Pool
	Resources  []*Resource
	Variables  *yaml.Node // a mapping node, or nil
	Tenants    []*Tenant
	Modules    []*Module
	Load       Load
	Actions    []*Action
	Nodes      []*Node
	Thresholds []Threshold

	// Config holds the source nodes of the keys that configure a run
	// (name, ip_pools, variables, tenants, load, thresholds...), so that
	// the compiler can carry them into the program's `scenario` dict,
	// where the runtime decodes them again with the same decoder.
	Config map[string]*yaml.Node

	// Warnings are problems that do not stop a run (unreachable nodes).
	Warnings ErrorList
}

// Pool is a set of source addresses users send from (spec §5).
type Pool struct {
	ID       string
	Name     string
	Ranges   []string
	Exclude  []string
	Strategy string // round_robin, sequential or random
	Pos      Pos
	// SpecPos is where each entry of Ranges and Exclude was written.
	SpecPos map[string]Pos
}

// Resource is a named set of properties, readable as RESOURCE.PROP.
type Resource struct {
	ID    string
	Type  string
	Props *yaml.Node // a mapping node; values may hold templates
	Pos   Pos
}

// Tenant is a named set of properties a phase may give its users.
type Tenant struct {
	ID    string
	Props *yaml.Node
	Pos   Pos
}

// Module is a Starlark file whose functions are custom actions.
type Module struct {
	Name string
	Path string
	Pos  Pos
}

// Load says how many users arrive when and what each one does over its
// life (spec §5).
type Load struct {
	Phases       []Phase
	Lifetime     Lifetime
	Binding      Binding
	Capacity     Capacity
	Concurrency  Concurrency
	Duration     time.Duration
	GracefulStop time.Duration
	Arrival      *Arrival
	Set          bool // a load: section was given
}

// Phase starts Users users at At, spread evenly over Spread.
type Phase struct {
	At     time.Duration
	Users  int
	Spread time.Duration
	Tenant string
	Pool   string
	Pos    Pos
	// TenantPos and PoolPos are where tenant_id and ip_pool_override
	// were written.
	TenantPos, PoolPos Pos
}

// Lifetime is what a user does once started.
type Lifetime struct {
	Mode       string // once or loop
	Iterations int    // with loop; 0 means until the duration ends
	ThinkMin   time.Duration
	ThinkMax   time.Duration // equal to ThinkMin for a fixed think time
}

// Binding ties users to source addresses of a pool.
type Binding struct {
	Enabled   bool
	PoolID    string
	Strategy  string // per_user, shared or per_task
	ReleaseOn string // user_exit or task_end
	Pos       Pos
}

// Capacity says what a user does when its pool has no free address.
type Capacity struct {
	WaitOnExhaustion bool
	WaitTimeout      time.Duration
	FallbackPool     string
}

// Concurrency caps users and rates.
type Concurrency struct {
	MaxUsers   int
	SpawnRate  float64 // per second; 0 is unlimited
	ActionRate float64
}

// Arrival is the open model: users arrive at Rate regardless of how
// fast earlier ones finish.
type Arrival struct {
	Rate     float64
	Duration time.Duration
	MaxUsers int
	Pos      Pos
}

// Action is one step a user can take: a built-in call or a custom one.
type Action struct {
	ID     string
	Call   string
	With   *yaml.Node // a mapping node, or nil
	Export []*Export
	Pos    Pos // of the id
	// CallPos is where the call is named.
	CallPos Pos

	broken bool // decoding it failed: skip checks that would only echo that
}

// Export takes a value out of an action's result (spec §4).
type Export struct {
	Type    string // content, header, status, assert, variable
	Name    string
	Path    string
	Scope   string // action, user or workbook
	Default *yaml.Node
	Pos     Pos
}

// Node is a step of the task graph.
type Node struct {
	ID     string
	Type   string // action, end or pass
	Action string
	Edges  []*Edge
	Pos    Pos
	// IDPos is where the id was written.
	IDPos Pos
}

// Edge leads to another node when its condition holds.
type Edge struct {
	To    string
	Label string
	When  *yaml.Node // nil for always
	Pos   Pos
}

// Threshold is a pass/fail criterion on the results.
type Threshold struct {
	Expr string
	Pos  Pos
}

// EndNode is the id of the implicit node that ends an iteration as passed.
const EndNode = "end"

// Pool returns the pool with the given id, or nil.
func (s *Scenario) Pool(id string) *Pool {
	for _, p := range s.Pools {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// Action returns the action with the given id, or nil.
func (s *Scenario) Action(id string) *Action {
	for _, a := range s.Actions {
		if a.ID == id {
			return a
		}
	}
	return nil
}

// StartNode is the id of the node execution starts at: "start" if it
// exists, else the first node.
func (s *Scenario) StartNode() string {
	for _, n := range s.Nodes {
		if n.ID == "start" {
			return n.ID
		}
	}
	if len(s.Nodes) > 0 {
		return s.Nodes[0].ID
	}
	return ""
}
