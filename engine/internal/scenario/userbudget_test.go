package scenario

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// TestUserBudget checks that plans of more users than a run may have are
// input errors where they are written, in YAML and in a .star scenario
// dict, and that the limit itself is accepted.
func TestUserBudget(t *testing.T) {
	for _, c := range []struct {
		name, load, pos, msg string
	}{
		{"one phase", "{ramp_up: {phases: [{spawn_users: 999999999}]}}", "a.yaml:1:27", "spawn_users: 999999999 is more than a run may spawn (10000000 users at most)"},
		{"sum of phases", "{ramp_up: {phases: [{spawn_users: 6000000}, {at_second: 1, spawn_users: 5000000}]}}", "a.yaml:1:51", "spawns 11000000 users"},
		{"arrivals", "{arrival: {rate: 100000/s, duration: 2m}}", "a.yaml:1:17", "plan 12000000 arrivals"},
		{"arrivals cut by the duration", "{duration: 1m, arrival: {rate: 1000000/s, duration: 1h}}", "a.yaml:1:31", "1000000 arrivals a second for 1m0s plan 60000000 arrivals"},
		{"max_users", "{arrival: {rate: 1/s, duration: 1s, max_users: 20000000}}", "a.yaml:1:17", "max_users: 20000000"},
	} {
		_, err := Parse("a.yaml", []byte("load: "+c.load+"\ntasks: [{id: s}]\n"))
		if err == nil || !strings.Contains(err.Error(), c.pos+": ") || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v\nwant %s: ...%s...", c.name, err, c.pos, c.msg)
		}
	}
	for _, ok := range []string{
		"{ramp_up: {phases: [{spawn_users: 10000000, spread: 1h}]}}",
		"{ramp_up: {phases: [{spawn_users: 4000000}, {spawn_users: 6000000}]}}",
		"{arrival: {rate: 100000/s, duration: 100s, max_users: 10000000}}",
		"{duration: 10s, arrival: {rate: 1000000/s, duration: 1h}}",
	} {
		if _, err := Parse("a.yaml", []byte("load: "+ok+"\ntasks: [{id: s}]\n")); err != nil {
			t.Errorf("load %s: %v", ok, err)
		}
	}

	// The same check holds for a .star scenario dict.
	d := starlark.NewDict(1)
	ph := starlark.NewDict(1)
	_ = ph.SetKey(starlark.String("spawn_users"), starlark.MakeInt(999999999))
	ramp := starlark.NewDict(1)
	_ = ramp.SetKey(starlark.String("phases"), starlark.NewList([]starlark.Value{ph}))
	load := starlark.NewDict(1)
	_ = load.SetKey(starlark.String("ramp_up"), ramp)
	_ = d.SetKey(starlark.String("load"), load)
	_, err := FromStarlark("s.star", Pos{File: "s.star", Line: 3, Col: 1}, d)
	if err == nil || !strings.Contains(err.Error(), "s.star:") || !strings.Contains(err.Error(), "10000000 users at most") {
		t.Errorf(".star scenario dict: err = %v", err)
	}
}
