package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"strings"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/target"
)

// Example runs a Starlark scenario against an in-process target, with a
// Go-provided module the script loads by name.
func Example() {
	srv, err := target.Start(target.Config{HTTP: "127.0.0.1:0", Record: true})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	flow := []byte(`
load("target", "base")

scenario = {
    "name": "example",
    "ip_pools": [{"id": "lo", "ips": ["127.0.0.2", "127.0.0.3"]}],
    "load": {"ramp_up": {"phases": [{"at_second": 0, "spawn_users": 2}]}},
}

def flow(user):
    r = http.get(base + "/asset", name = "get asset")
    check(r.json()["source_ip"] == user.allocated_ip, "bound to the pool")
`)
	opts := engine.Options{Modules: map[string]starlark.StringDict{
		"target": {"base": starlark.String("http://" + srv.HTTPAddr())},
	}}
	res, err := engine.Run(context.Background(), "example.star", flow, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("passed:", res.Passed)
	fmt.Println("requests:", res.Actions["get asset"].Count)
	fmt.Println("from 127.0.0.2:", res.SourceIPs["127.0.0.2"].Requests)
	fmt.Println("the target saw:", len(srv.Seen()))
	// Output:
	// passed: true
	// requests: 2
	// from 127.0.0.2: 1
	// the target saw: 2
}

// ExampleRun runs a YAML scenario, given as bytes, against the built-in
// target and reads the result.
func ExampleRun() {
	srv, err := target.Start(target.Config{HTTP: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	yamlSrc := []byte(`
name: run-example
ip_pools:
  - {id: lo, ips: [127.0.0.2, 127.0.0.3]}
load:
  ramp_up:
    phases: [{at_second: 0, spawn_users: 2}]
actions:
  - {id: home, call: get, with: {url: "http://` + srv.HTTPAddr() + `/asset"}}
tasks:
  - {id: start, action: home}
`)
	res, err := engine.Run(context.Background(), "run-example.yaml", yamlSrc, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("scenario:", res.Scenario)
	fmt.Println("passed:", res.Passed)
	fmt.Println("home:", res.Actions["home"].Count)
	// Output:
	// scenario: run-example
	// passed: true
	// home: 2
}

// ExampleRunScenario runs a YAML scenario and gets the result as the
// JSON document `ntx exec --out` writes.
func ExampleRunScenario() {
	srv, err := target.Start(target.Config{HTTP: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	out, err := engine.RunScenario(`
name: json-example
ip_pools:
  - {id: lo, ips: [127.0.0.2]}
actions:
  - {id: home, call: get, with: {url: "http://` + srv.HTTPAddr() + `/asset"}}
tasks:
  - {id: start, action: home}
`)
	if err != nil {
		log.Fatal(err)
	}
	var res struct {
		Scenario string `json:"scenario"`
		Passed   bool   `json:"passed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Scenario, res.Passed)
	// Output:
	// json-example true
}

// ExampleCompile shows the Starlark program a YAML scenario compiles to:
// here, the function its one action becomes.
func ExampleCompile() {
	prog, err := engine.Compile("hello.yaml", []byte(`
name: hello
ip_pools:
  - {id: lo, ips: [127.0.0.2]}
actions:
  - {id: home, call: get, with: {url: "http://127.0.0.1:8080/"}}
tasks:
  - {id: start, action: home}
`))
	if err != nil {
		log.Fatal(err)
	}
	start := strings.Index(prog, "def action_home")
	end := start + strings.Index(prog[start:], "\n\n")
	fmt.Println(prog[start:end])
	// Output:
	// def action_home(user, r):  # hello.yaml:6:10
	//     """Action home: get."""
	//     return http.get(
	//         name = "home",
	//         url = "http://127.0.0.1:8080/",
	//         discard_body = True,
	//     )
}

// ExampleLoad checks a scenario without running it: an input error
// names the place in the file, and a scenario without a name is named
// after its file.
func ExampleLoad() {
	_, err := engine.Load("broken.yaml", []byte(`
ip_pools:
  - {id: lo, ips: [127.0.0.2]}
actions:
  - {id: home, call: get, with: {url: "http://127.0.0.1:8080/", timeout: soon}}
tasks:
  - {id: start, action: home}
`), engine.Options{})
	fmt.Println("input error:", engine.IsInputError(err))

	p, err := engine.Load("checkout.yaml", []byte(`
ip_pools:
  - {id: lo, ips: [127.0.0.2]}
actions:
  - {id: home, call: get, with: {url: "http://127.0.0.1:8080/"}}
tasks:
  - {id: start, action: home}
`), engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("name:", p.Scenario.Name)
	// Output:
	// input error: true
	// name: checkout
}
