package engine_test

import (
	"context"
	"fmt"
	"log"

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
