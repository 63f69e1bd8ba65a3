// Package scenario is the model of an ntx scenario and its loader: both
// YAML dialects of the scenario language (spec §2), and the `scenario`
// dict of a .star file, decode into one Scenario, checked with every
// problem reported at FILE:LINE:COL.
package scenario

import (
	"net/netip"
	"time"

	"go.starlark.net/starlark"
	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/internal/data"
	"github.com/ntx-dev/ntx/engine/internal/pool"
	"github.com/ntx-dev/ntx/engine/metrics"
)

// Scenario is one parsed scenario.
type Scenario struct {
	File      string
	Name      string
	Version   string
	Pools     []*Pool
	Resources []*Resource
	Variables *yaml.Node // a mapping node, or nil
	Tenants   []*Tenant
	Modules   []*Module
	Datasets  []*Dataset
	HTTP      HTTP // the http: section
	// Setup and Teardown are the actions run once before any user
	// starts and once after the last (spec §4.3).
	Setup, Teardown []Step
	Load            Load
	Actions         []*Action
	// Nodes is the graph of a scenario with one workflow (the flat
	// dialect's tasks, or workflows: {nodes: ...}); nil when Workflows
	// lists named ones.
	Nodes []*Node
	// Workflows are the named flows of a user mix (spec §4.3): the list
	// form of a YAML file's workflows:, or a .star file's
	// scenario["flows"]. Empty for a scenario with one flow.
	Workflows  []*Workflow
	Thresholds []Threshold

	// Config holds the source nodes of the keys that configure a run
	// (name, ip_pools, variables, tenants, load, thresholds...), so that
	// the compiler can write them, as the user wrote them, into the
	// `scenario` dict of the program `ntx compile` prints. A YAML
	// scenario's run takes its settings from this model, never from
	// that dict.
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
	Strategy pool.Strategy // allocation_strategy
	// Addrs are the pool's addresses, Ranges less Exclude, expanded
	// once when the scenario is checked; nil if they are invalid.
	Addrs []netip.Addr
	Pos   Pos
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

// Dataset is test data read from a file (spec §4.3), readable as
// data.ID.COLUMN.
type Dataset struct {
	ID          string
	File        string // as written, relative to the scenario file
	Order       data.Order
	OnExhausted data.OnExhausted
	// Table holds the file's rows, read once when the scenario is
	// checked and shared by every user; nil if the file is unusable.
	Table *data.Table
	Pos   Pos
	// FilePos is where the file was named, OnExhaustedPos where
	// on_exhausted was given (zero when it was not).
	FilePos, OnExhaustedPos Pos
}

// Step is an entry of setup: or teardown:, an action to run once.
type Step struct {
	Action string
	Pos    Pos
}

// Sources returns the datasets as a run hands their rows out.
func (s *Scenario) Sources() []data.Source {
	out := make([]data.Source, 0, len(s.Datasets))
	for _, d := range s.Datasets {
		if d.Table != nil {
			out = append(out, data.Source{ID: d.ID, Order: d.Order, OnExhausted: d.OnExhausted, Table: d.Table})
		}
	}
	return out
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
	// Workflow pins the phase's users to one workflow of the user mix;
	// "" lets each draw one by weight.
	Workflow string
	Pos      Pos
	// TenantPos, PoolPos and WorkflowPos are where tenant_id,
	// ip_pool_override and workflow were written.
	TenantPos, PoolPos, WorkflowPos Pos
}

// LifetimeMode is what a user does after its first iteration.
type LifetimeMode string

// The user_lifetime modes.
const (
	Once LifetimeMode = "once" // one iteration, then the user leaves
	Loop LifetimeMode = "loop" // iterations until the count or the duration ends
)

// Lifetime is what a user does once started.
type Lifetime struct {
	Mode       LifetimeMode // "" is Once
	Iterations int          // with loop; 0 means until the duration ends
	ThinkMin   time.Duration
	ThinkMax   time.Duration // equal to ThinkMin for a fixed think time
	// Pos is where user_lifetime was written; Faulty says that decoding
	// it found errors, so that checks of what it means are not piled on
	// them (a misspelled iterations is no loop without an end).
	Pos    Pos
	Faulty bool
}

// BindStrategy says how a bound user uses its pool's addresses.
type BindStrategy string

// The ip_binding strategies of spec §5.
const (
	PerUser BindStrategy = "per_user" // one address held for the user's life
	Shared  BindStrategy = "shared"   // the pool's next address for each action, not held
	PerTask BindStrategy = "per_task" // an address held for one action
)

// ReleaseOn says when a per_user address goes back to its pool.
type ReleaseOn string

// The ip_binding release_on values.
const (
	OnUserExit ReleaseOn = "user_exit" // when the user ends
	OnTaskEnd  ReleaseOn = "task_end"  // after each iteration
)

// Binding ties users to source addresses of a pool.
type Binding struct {
	Enabled   bool
	PoolID    string
	Strategy  BindStrategy // "" is PerUser
	ReleaseOn ReleaseOn    // "" is OnUserExit
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
	ID   string
	Call string
	// Kind is what the call is: a built-in's kind, or catalog.Custom
	// for MODULE.FUNCTION; "" if Call names nothing callable.
	Kind   catalog.Kind
	With   *yaml.Node // a mapping node, or nil
	Export []*Export
	Pos    Pos // of the id
	// CallPos is where the call is named.
	CallPos Pos

	broken bool // decoding it failed: skip checks that would only echo that
}

// ExportType says where an export takes its value from.
type ExportType string

// The export types of spec §4.
const (
	ExportContent  ExportType = "content"  // a path into the JSON body
	ExportHeader   ExportType = "header"   // a response header
	ExportStatus   ExportType = "status"   // the status code
	ExportAssert   ExportType = "assert"   // a check that a path equals a value
	ExportVariable ExportType = "variable" // a fixed value
)

// ExportScope says who sees an exported value.
type ExportScope string

// The export scopes of spec §4.
const (
	ScopeAction   ExportScope = "action"   // ACTION.NAME in this iteration
	ScopeUser     ExportScope = "user"     // user.NAME for the rest of the user's life
	ScopeWorkbook ExportScope = "workbook" // vars.NAME for every user
)

// Export takes a value out of an action's result (spec §4).
type Export struct {
	Type    ExportType
	Name    string
	Path    string
	Scope   ExportScope
	Default *yaml.Node
	Pos     Pos
}

// NodeType says what a node of the graph does.
type NodeType string

// The node types. A workbook node of type start is a pass node.
const (
	NodeAction NodeType = "action" // runs an action, then follows its edges
	NodeEnd    NodeType = "end"    // ends the iteration as passed
	NodePass   NodeType = "pass"   // follows its edges at once
)

// Node is a step of the task graph.
type Node struct {
	ID     string
	Type   NodeType
	Action string
	Edges  []*Edge
	Pos    Pos
	// IDPos is where the id was written.
	IDPos Pos
}

// Workflow is one flow of a user mix: each user draws one by weight when
// it is spawned, unless its phase pins it, and runs it for its life.
type Workflow struct {
	ID     string
	Weight float64
	// Nodes is a YAML workflow's graph.
	Nodes []*Node
	// Fn is a .star flow's function as the scenario dict gives it: the
	// function itself, or a string naming a global of the file. The
	// runtime resolves it.
	Fn  starlark.Value
	Pos Pos // of the entry
	// IDPos is where the id was written (the entry, when it was not);
	// FnPos where fn was.
	IDPos, FnPos Pos
}

// StartNode is the id of the node the workflow starts at: "start" if it
// exists, else the first node.
func (w *Workflow) StartNode() string { return startNode(w.Nodes) }

// Graphs returns the scenario's workflows: the named ones, or the one
// graph of Nodes as a workflow with no id and weight 1.
func (s *Scenario) Graphs() []*Workflow {
	if len(s.Workflows) > 0 {
		return s.Workflows
	}
	return []*Workflow{{Weight: 1, Nodes: s.Nodes}}
}

// FlowIDs returns the ids of the named workflows, in order.
func (s *Scenario) FlowIDs() []string {
	out := make([]string, 0, len(s.Workflows))
	for _, w := range s.Workflows {
		out = append(out, w.ID)
	}
	return out
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
	// Parsed is the threshold in the form evaluation needs, set by
	// validation.
	Parsed metrics.Threshold
	// AbortOnFail stops the run when the threshold fails, judged every
	// second once Delay has passed (spec §6); a fleet's coordinator judges
	// it on the fleet's numbers.
	AbortOnFail bool
	Delay       time.Duration
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
func (s *Scenario) StartNode() string { return startNode(s.Nodes) }

func startNode(nodes []*Node) string {
	for _, n := range nodes {
		if n.ID == "start" {
			return n.ID
		}
	}
	if len(nodes) > 0 {
		return nodes[0].ID
	}
	return ""
}
