package catalog

// The sections of a YAML scenario (spec §2). The decoder reads each
// mapping with the keys listed here; what a key means is its business.

var (
	vStrings   = Value{OneOf: []Value{{Type: String}, {Type: List, Elem: &Value{Type: String}}}}
	vPlainDur  = Value{Type: Duration}
	vCondition = Value{Type: Condition}
	vText      = Value{Type: String}
	vID        = Value{Type: String, Pattern: IDPattern, Hint: "an id: letters, digits, '_', '-' and '.', starting with a letter or '_'"}
)

func obj(o *Obj) Value        { return Value{Type: Object, Obj: o} }
func listOf(v Value) Value    { return Value{Type: List, Elem: &v} }
func enum(vs ...string) Value { return Value{Type: Enum, Values: vs} }

// Pool is an entry of ip_pools.
var Pool = &Obj{Name: "an ip pool", Doc: "a set of source addresses users send from",
	NeedOneOf: [][]string{{"id", "name"}, {"ips", "ranges"}}, Keys: []Key{
		{Name: "id", Value: vID, Doc: "the pool's id (the flat dialect may give name instead)"},
		{Name: "name", Value: vText, Doc: "a display name; the id when id is absent"},
		{Name: "ips", Value: vStrings, Doc: "addresses, ranges (a-b) and CIDRs"},
		{Name: "ranges", Value: vStrings, Doc: "the same as ips"},
		{Name: "exclude", Value: vStrings, Doc: "addresses, ranges and CIDRs not to hand out"},
		{Name: "allocation_strategy", Value: enum("round_robin", "sequential", "random"), Default: "round_robin",
			Doc: "which free address is handed out next: the one after the last (round_robin), the lowest (sequential), or any (random, reproducible with --seed)"},
	}}

// Threshold is the mapping form of an entry of thresholds.
var Threshold = &Obj{Name: "a threshold", Doc: "a threshold that can stop the run when it fails", Keys: []Key{
	{Name: "expr", Value: vText, Required: true, Doc: "the threshold, such as \"api.error_rate < 1%\""},
	{Name: "abort_on_fail", Value: Value{Type: Bool}, Default: "false", Doc: "judge it every second and stop the run when it fails (a fleet judges it on the fleet's numbers)"},
	{Name: "delay", Value: vPlainDur, Default: "0", Doc: "with abort_on_fail, how long after the start it begins to be judged"},
}}

// Resource is an entry of resources.
var Resource = &Obj{Name: "a resource", Doc: "named properties, readable as RESOURCE.PROP in templates", Keys: []Key{
	{Name: "id", Value: vID, Required: true, Doc: "the resource's id"},
	{Name: "properties", Value: Value{Type: Map}, Doc: "its properties; values may be templates naming other resources"},
	{Name: "type", Value: vText, Doc: "a free-form type, for readers (http_endpoint...)"},
}}

// Tenant is an entry of tenants.
var Tenant = &Obj{Name: "a tenant", Doc: "values a phase may give its users, readable as tenant.NAME", Keys: []Key{
	{Name: "id", Value: vID, Required: true, Doc: "the tenant's id (tenant.id)"},
	{Name: "properties", Value: Value{Type: Map}, Doc: "its values"},
	{Name: "name", Value: vText, Doc: "a display name"},
}}

// Phase is an entry of load.ramp_up.phases.
var Phase = &Obj{Name: "a phase", Doc: "a batch of users started together", Keys: []Key{
	{Name: "at_second", Value: vPlainDur, Default: "0", Doc: "when the phase starts, from the start of the run (fractions allowed)"},
	{Name: "spawn_users", Value: Value{Type: Int, Min: 0, HasMin: true}, Required: true, Doc: "how many users it starts"},
	{Name: "spread", Value: vPlainDur, Default: "0 (all at once)", Doc: "the time over which its users are started, evenly"},
	{Name: "tenant_id", Value: vText, Doc: "the tenant its users belong to"},
	{Name: "ip_pool_override", Value: vText, Doc: "the pool its users take addresses from, instead of ip_binding.pool_id"},
	{Name: "workflow", Value: vText, Doc: "the workflow (a .star file: the flow) all its users run, instead of each drawing one by weight"},
	{Name: "name", Value: vText, Doc: "a display name"},
}}

// ThinkTime is the mapping form of user_lifetime.think_time.
var ThinkTime = &Obj{Name: "think_time", Doc: "a pause drawn uniformly between min and max", Keys: []Key{
	{Name: "min", Value: vPlainDur, Doc: "the shortest pause"},
	{Name: "max", Value: vPlainDur, Doc: "the longest pause"},
}}

// Lifetime is load.user_lifetime.
var Lifetime = &Obj{Name: "user_lifetime", Doc: "what each user does once started", Keys: []Key{
	{Name: "mode", Value: enum("once", "loop"), Default: "once", Doc: "once: one iteration; loop: iterations of them"},
	{Name: "iterations", Value: Value{Type: Int, Min: 0, HasMin: true}, Doc: "with loop, how many iterations; 0 runs until load.duration ends"},
	{Name: "think_time", Value: Value{OneOf: []Value{vPlainDur, obj(ThinkTime)}}, Doc: "the pause between iterations: a duration, or {min, max}"},
}}

// Binding is load.user_resources.ip_binding.
var Binding = &Obj{Name: "ip_binding", Doc: "ties users to source addresses from a pool", Keys: []Key{
	{Name: "enabled", Value: Value{Type: Bool}, Default: "true", Doc: "whether users are bound to addresses"},
	{Name: "pool_id", Value: vText, Doc: "the pool (optional when there is only one)"},
	{Name: "strategy", Value: enum("per_user", "shared", "per_task"), Default: "per_user",
		Doc: "per_user: the user holds one address; shared: every action takes the next address; per_task: an address held for one action"},
	{Name: "release_on", Value: enum("user_exit", "task_end"), Default: "user_exit",
		Doc: "when a per_user address goes back to the pool: when the user ends, or at the end of each iteration"},
}}

// Capacity is load.user_resources.capacity_management.
var Capacity = &Obj{Name: "capacity_management", Doc: "what a user does when its pool has no free address", Keys: []Key{
	{Name: "wait_on_exhaustion", Value: Value{Type: Bool}, Default: "false", Doc: "wait for an address instead of failing to start"},
	{Name: "wait_timeout", Value: vPlainDur, Doc: "how long to wait before trying fallback_pool"},
	{Name: "fallback_pool", Value: vText, Doc: "the pool to try after waiting"},
}}

// UserResources is load.user_resources.
var UserResources = &Obj{Name: "user_resources", Keys: []Key{
	{Name: "ip_binding", Value: obj(Binding), Doc: "source addresses for users"},
	{Name: "capacity_management", Value: obj(Capacity), Doc: "when a pool runs out"},
}}

// Concurrency is load.concurrency.
var Concurrency = &Obj{Name: "concurrency", Doc: "caps on users and rates", Keys: []Key{
	{Name: "max_concurrent_users", Value: Value{Type: Int, Min: 1, HasMin: true}, Doc: "further spawns wait for a running user to end"},
	{Name: "spawn_rate_limit", Value: Value{Type: Rate}, Doc: "the most users started per second (a token bucket)"},
	{Name: "action_rate_limit", Value: Value{Type: Rate}, Doc: "the most actions started per second, over all users"},
}}

// Arrival is load.arrival, the open model.
var Arrival = &Obj{Name: "arrival", Doc: "the open model: one single-iteration user per arrival, at a fixed rate however fast earlier ones finish", Keys: []Key{
	{Name: "rate", Value: Value{Type: Rate}, Required: true, Doc: "arrivals per second"},
	{Name: "duration", Value: vPlainDur, Doc: "how long arrivals go on (default: load.duration)"},
	{Name: "max_users", Value: Value{Type: Int, Min: 1, HasMin: true}, Doc: "the most users alive at once; arrivals beyond it are dropped and counted"},
}}

// RampUp is load.ramp_up.
var RampUp = &Obj{Name: "ramp_up", Keys: []Key{
	{Name: "phases", Value: listOf(obj(Phase)), Doc: "the batches of users, each at its own time"},
}}

// Load is the load section.
var Load = &Obj{Name: "load", Doc: "how many users arrive when, and what each does over its life", Keys: []Key{
	{Name: "ramp_up", Value: obj(RampUp), Doc: "the closed model's phases"},
	{Name: "user_lifetime", Value: obj(Lifetime), Doc: "iterations per user and think time"},
	{Name: "user_resources", Value: obj(UserResources), Doc: "source addresses"},
	{Name: "concurrency", Value: obj(Concurrency), Doc: "caps"},
	{Name: "duration", Value: vPlainDur, Doc: "a hard stop: no iteration starts after it"},
	{Name: "graceful_stop", Value: vPlainDur, Doc: "how long in-flight work may finish after duration before it is cancelled"},
	{Name: "arrival", Value: obj(Arrival), Doc: "the open model, instead of phases"},
}}

// Action is an entry of actions.
var Action = &Obj{Name: "an action", Doc: "a step a user can take", Keys: []Key{
	{Name: "id", Value: vID, Required: true, Doc: "the action's id, by which tasks run it and templates read its result"},
	{Name: "call", Value: vText, Required: true, Doc: "a built-in call, or MODULE.FUNCTION from modules:"},
	{Name: "with", Value: Value{Type: Map}, Doc: "the call's arguments (see the calls)"},
	{Name: "export", Value: listOf(obj(Export)), Doc: "values taken out of the result"},
	{Name: "name", Value: vText, Doc: "a display name"},
	{Name: "description", Value: vText, Doc: "a note for readers"},
}}

// ActionsSection is the mapping form of the actions section.
var ActionsSection = &Obj{Name: "actions", Keys: []Key{
	{Name: "actions", Value: listOf(obj(Action)), Doc: "the actions"},
}}

// Next is the mapping form of an entry of a task's next.
var Next = &Obj{Name: "a next entry", Keys: []Key{
	{Name: "task", Value: vText, Required: true, Doc: "the task to go to"},
	{Name: "when", Value: vCondition, Doc: "taken only when this holds (default: always)"},
	{Name: "label", Value: vText, Doc: "a note for readers"},
}}

// Task is an entry of the flat dialect's tasks.
var Task = &Obj{Name: "a task", Doc: "a step of the flat dialect's graph", Keys: []Key{
	{Name: "id", Value: vID, Required: true, Doc: "the task's id; execution starts at start, else the first task; end ends the iteration"},
	{Name: "action", Value: vText, Doc: "the action it runs (none: it passes straight on)"},
	{Name: "next", Value: Value{OneOf: []Value{vText, listOf(Value{OneOf: []Value{vText, obj(Next)}})}},
		Doc: "where to go next: tried in order, the first whose when holds is taken; none ends the iteration"},
	{Name: "name", Value: vText, Doc: "a display name"},
	{Name: "description", Value: vText, Doc: "a note for readers"},
}}

// Trigger is an edge's trigger.
var Trigger = &Obj{Name: "a trigger", Keys: []Key{
	{Name: "condition", Value: vCondition, Doc: "the edge is taken only when this holds"},
}}

// Edge is an entry of a node's edges.
var Edge = &Obj{Name: "an edge", Keys: []Key{
	{Name: "to", Value: vText, Required: true, Doc: "the node to go to"},
	{Name: "trigger", Value: obj(Trigger), Doc: "{condition: ...}"},
	{Name: "label", Value: vText, Doc: "a note for readers"},
	{Name: "when", Value: vCondition, Doc: "the same as trigger.condition"},
}}

// Node is an entry of workflows.nodes.
var Node = &Obj{Name: "a node", Doc: "a step of the workbook dialect's graph", Keys: []Key{
	{Name: "id", Value: vID, Required: true, Doc: "the node's id; execution starts at start, else the first node"},
	{Name: "type", Value: enum("action", "end", "start", "pass"), Default: "action (pass without an action)",
		Doc: "action runs an action; end ends the iteration as passed; start and pass only lead on"},
	{Name: "action", Value: vText, Doc: "the action an action node runs"},
	{Name: "edges", Value: listOf(obj(Edge)), Doc: "tried in order; when none holds the iteration fails with reason no-edge"},
	{Name: "name", Value: vText, Doc: "a display name"},
	{Name: "description", Value: vText, Doc: "a note for readers"},
}}

// Workflows is the workbook dialect's workflows section.
var Workflows = &Obj{Name: "workflows", Keys: []Key{
	{Name: "nodes", Value: listOf(obj(Node)), Required: true, Doc: "the graph's nodes"},
	{Name: "name", Value: vText, Doc: "a display name"},
	{Name: "description", Value: vText, Doc: "a note for readers"},
}}

// Weight is what a flow's weight accepts: a number above 0.
var vWeight = Value{Type: Number}

// Workflow is an entry of the list form of workflows: one flow of a user
// mix (spec §4.3).
var Workflow = &Obj{Name: "a workflow", Doc: "one flow of a user mix: each user draws one workflow by weight when it is spawned (reproducibly with --seed) and runs it for its whole life", Keys: []Key{
	{Name: "id", Value: vID, Required: true, Doc: "the workflow's id: results count its iterations under flows.ID, and a phase's workflow: pins its users to it"},
	{Name: "weight", Value: vWeight, Default: "1", Doc: "its share of the users: weight divided by the sum of the weights (a number above 0)"},
	{Name: "nodes", Value: listOf(obj(Node)), Required: true, Doc: "its graph's nodes; node ids are the workflow's own"},
	{Name: "name", Value: vText, Doc: "a display name"},
	{Name: "description", Value: vText, Doc: "a note for readers"},
}}

// Flow is an entry of a .star file's scenario["flows"]: one flow of a
// user mix, as Workflow is in YAML.
var Flow = &Obj{Name: "a flow", Doc: "one flow of a .star user mix", Keys: []Key{
	{Name: "fn", Value: Value{Type: Any}, Required: true, Doc: "the flow function, which takes the user and runs one iteration: the function itself, or the name of a function the file defines"},
	{Name: "weight", Value: vWeight, Default: "1", Doc: "its share of the users: weight divided by the sum of the weights (a number above 0)"},
	{Name: "id", Value: vID, Default: "the function's name", Doc: "the flow's id, under which results count its iterations (flows.ID) and a phase's workflow: names it"},
}}

// Dataset is an entry of data: (spec §4.3).
var Dataset = &Obj{Name: "a dataset", Doc: "test data from a file, read once and shared by every user: data.ID.COLUMN is the row a user holds in its iteration", Keys: []Key{
	{Name: "id", Value: Value{Type: String, Pattern: IdentifierPattern, Hint: "an identifier (letters, digits, _)"}, Required: true,
		Doc: "the dataset's name: its rows read as data.ID.COLUMN in templates and data.ID[\"COLUMN\"] in Starlark"},
	{Name: "file", Value: vText, Required: true,
		Doc: "a .csv file with a header row, or a .json file holding a list of objects; relative to the scenario file and inside its directory tree"},
	{Name: "order", Value: enum("per_user", "sequential", "random", "unique"), Default: "per_user",
		Doc: "per_user: user N gets row (N-1) mod rows for life; sequential: each iteration the next row of one run-wide cursor; random: a row per iteration, reproducible with --seed; unique: each row once in the whole run"},
	{Name: "on_exhausted", Value: enum("stop_user", "fail_iteration", "recycle"), Default: "stop_user",
		Doc: "with order: unique, what happens once every row has been handed out: the user asking stops, its iteration fails (reason data-exhausted), or the rows are handed out again"},
}}

// Sections shared by the top level and workbook:.
var (
	keyPools     = Key{Name: "ip_pools", Value: listOf(obj(Pool)), Run: true, Doc: "source address pools"}
	keyResources = Key{Name: "resources", Value: listOf(obj(Resource)), Doc: "named properties for templates"}
	keyVariables = Key{Name: "variables", Value: Value{Type: Map}, Run: true, Doc: "shared values, readable as vars.NAME"}
	keyTenants   = Key{Name: "tenants", Value: listOf(obj(Tenant)), Run: true, Doc: "per-tenant values, readable as tenant.NAME"}
)

// Workbook is the workbook dialect's workbook section.
var Workbook = &Obj{Name: "workbook", Keys: []Key{keyPools, keyResources, keyVariables, keyTenants}}

// Scenario is the top level of a YAML scenario, both dialects: a file
// with tasks: is the flat dialect, one with workflows: (or workbook:)
// the workbook dialect.
var Scenario = &Obj{Name: "the scenario", Doc: "the top level of a YAML file, both dialects; name, version, description, ip_pools, variables, tenants, data, http, load and thresholds may also be keys of a .star file's scenario dict", Keys: []Key{
	{Name: "name", Value: vText, Run: true, Doc: "the scenario's name, shown in results"},
	{Name: "version", Value: vText, Run: true, Doc: "the scenario format's version, for readers"},
	{Name: "description", Value: vText, Run: true, Doc: "a note for readers"},
	keyPools,
	keyResources,
	keyVariables,
	keyTenants,
	{Name: "modules", Value: Value{Type: Map, Elem: &Value{Type: String}}, Doc: "MODULE: path/to/file.star, whose functions custom actions call as MODULE.FUNCTION"},
	{Name: "data", Value: listOf(obj(Dataset)), Run: true, Doc: "test data: datasets read from CSV and JSON files, readable as data.ID.COLUMN"},
	{Name: "http", Value: obj(HTTPSection), Run: true, Doc: "defaults for every HTTP call: keep_alive, redirects, cookies, user_agent, timeout, max_response, tls, compression, proxy"},
	{Name: "load", Value: obj(Load), Run: true, Doc: "users, phases, limits (default: one user, one iteration)"},
	{Name: "thresholds", Value: listOf(Value{OneOf: []Value{vText, obj(Threshold)}}), Run: true, Doc: "pass/fail criteria such as \"get-status.p95 < 200ms\", or {expr, abort_on_fail, delay}"},
	{Name: "setup", Value: listOf(vText), Doc: "ids of actions run once, in order, before any user starts, as no user; their workbook-scoped exports are read as vars.NAME; if one fails the run ends, failed, before any load is sent"},
	{Name: "teardown", Value: listOf(vText), Doc: "ids of actions run once, in order, after the last user has finished"},
	{Name: "actions", Value: Value{OneOf: []Value{listOf(obj(Action)), obj(ActionsSection)}}, Doc: "the steps users can take"},
	{Name: "tasks", Value: listOf(obj(Task)), Doc: "the flat dialect's graph"},
	{Name: "workflows", Value: Value{OneOf: []Value{obj(Workflows), listOf(obj(Workflow))}}, Doc: "the workbook dialect's graph, or a list of named workflows with weights: a user mix"},
	{Name: "workbook", Value: obj(Workbook), Doc: "the workbook dialect's pools, resources, variables and tenants"},
}}

// RunKeys are the top-level keys that configure a run rather than what
// users do: the keys a .star file's `scenario` dict may hold, in the
// order a compiled program writes them.
func RunKeys() []string {
	var out []string
	for _, k := range Scenario.Keys {
		if k.Run {
			out = append(out, k.Name)
		}
	}
	return out
}

// Objects are all the fixed-key mappings of the language, from the top
// of a scenario down, for the schema, the reference and the tests.
func Objects() []*Obj {
	return []*Obj{Scenario, Workbook, Pool, Resource, Tenant, Dataset, HTTPSection, TLS, DNS, Load, RampUp, Phase, Lifetime, ThinkTime,
		UserResources, Binding, Capacity, Concurrency, Arrival, ActionsSection, Action, Export, ReadMode,
		Task, Next, Workflows, Workflow,
		Node, Edge, Trigger, Threshold, DNSExpect, Auth, MultipartFile}
}
