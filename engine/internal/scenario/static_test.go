package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvDefaultsAccepted(t *testing.T) {
	unset := Options{Env: func(string) bool { return false }}
	for _, tmpl := range []string{
		`{{env.NTX_X or "fallback"}}`,
		`{{(env.NTX_X) or "fallback"}}`,
		`{{env.get("NTX_X", "fallback")}}`,
		`{{env.get("NTX_X")}}`,
		`{{"a" if env.NTX_X else "b"}}`,
		`{{"a" if not env.NTX_X else env.NTX_X}}`,
		// The same rule as a .star file's: a name the code tests is read
		// on the branch where it is set.
		`{{env.NTX_X == "a"}}`,
		`{{env.NTX_X and env.NTX_X + "x"}}`,
	} {
		src := "actions: [{id: a, call: get, with: {url: 'http://127.0.0.1:1/', headers: {X: '" + tmpl + "'}}}]\ntasks: [{id: s, action: a}]\n"
		if _, err := ParseWith("e.yaml", []byte(src), unset); err != nil {
			t.Errorf("%s: %v", tmpl, err)
		}
	}
	for _, tmpl := range []string{`{{env.NTX_X}}`, `{{env.NTX_X + "x"}}`, `{{env.NTX_Y or env.NTX_X}}`} {
		src := "actions: [{id: a, call: get, with: {url: 'http://127.0.0.1:1/', headers: {X: '" + tmpl + "'}}}]\ntasks: [{id: s, action: a}]\n"
		_, err := ParseWith("e.yaml", []byte(src), unset)
		if err == nil || !strings.Contains(err.Error(), "env.NTX_X is not set") {
			t.Errorf("%s: got %v, want env.NTX_X is not set", tmpl, err)
		}
	}
	// Set, or not known (ntx compile): no error.
	src := "actions: [{id: a, call: get, with: {url: 'http://127.0.0.1:1/{{env.NTX_X}}'}}]\ntasks: [{id: s, action: a}]\n"
	if _, err := ParseWith("e.yaml", []byte(src), Options{Env: func(string) bool { return true }}); err != nil {
		t.Error(err)
	}
	if _, err := Parse("e.yaml", []byte(src)); err != nil {
		t.Error(err)
	}
}

func TestEndlessFlowWarns(t *testing.T) {
	for _, c := range []struct {
		name, graph string
		warn        bool
	}{
		{"loop without exit", "tasks:\n  - {id: start, action: a, next: [b]}\n  - {id: b, next: [start]}\n", true},
		{"loop with a conditional exit", "tasks:\n  - {id: start, action: a, next: [{task: end, when: '{{a.ok}}'}, {task: start}]}\n", false},
		{"conditions only: may fall through", "tasks:\n  - {id: start, action: a, next: [{task: start, when: '{{a.ok}}'}]}\n", false},
		{"false edge out is no exit", "tasks:\n  - {id: start, action: a, next: [{task: end, when: false}, {task: start, when: true}]}\n", true},
		{"edges after an always edge are never tried", "tasks:\n  - {id: start, action: a, next: [start, end]}\n", true},
		{"plain chain", "tasks:\n  - {id: start, action: a, next: [b]}\n  - {id: b}\n", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("w.yaml", []byte("actions: [{id: a, call: sleep, with: {duration: 1ms}}]\n"+c.graph))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(s.Warnings.Error(), "reaches the end")
			if got != c.warn {
				t.Errorf("warning %v, want %v: %v", got, c.warn, s.Warnings)
			}
			if got && !strings.HasPrefix(s.Warnings.Error(), "w.yaml:3:") {
				t.Errorf("warning at %v, want the start node", s.Warnings)
			}
		})
	}
}

// TestCustomActionExportsNameFields checks that a custom action's
// user- and workbook-scoped exports may be read as user.NAME and
// vars.NAME, as they are set when it runs.
func TestCustomActionExportsNameFields(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "auth.star"), []byte("def login(ctx):\n    return {\"ok\": True, \"token\": \"t\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `modules: {auth: auth.star}
actions:
  - id: login
    call: auth.login
    export: [{name: token, path: token, scope: user}, {name: shared, path: token, scope: workbook}]
  - {id: use, call: get, with: {url: "http://127.0.0.1:1/{{user.token}}/{{vars.shared}}"}}
tasks: [{id: s, action: login, next: [u]}, {id: u, action: use}]
`
	if _, err := Parse(filepath.Join(dir, "c.yaml"), []byte(src)); err != nil {
		t.Error(err)
	}
}
