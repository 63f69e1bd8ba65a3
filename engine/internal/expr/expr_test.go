package expr

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

func testScope() *Scope {
	return &Scope{
		Actions: map[string]map[string]bool{
			"probe-get": {"status_code": true, "ok": true, "json": true, "body": true, "token": true},
			"login":     {"status_code": true, "ok": true},
		},
		Resources: map[string]ResourceRef{
			"target":     {Global: "target", Props: map[string]bool{"ip": true, "port": true}},
			"target-api": {Global: "res_target_api", Props: map[string]bool{"root": true}},
		},
		Fields:   map[string]map[string]bool{"user": {"id": true, "iteration": true}, "tenant": {"id": true, "token": true}},
		Universe: map[string]bool{"len": true, "str": true, "int": true},
		Results:  "r",
	}
}

func TestTemplateRewrite(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", `"plain text"`},
		{"{{probe-get.status_code}}", `r["probe-get"].status_code`},
		{"{{ probe-get.status_code == 200 }}", `r["probe-get"].status_code == 200`},
		{"{{target.ip}}:{{target.port}}", `"%s:%s" % (target.ip, target.port)`},
		{"{{target-api.root}}/x", `"%s/x" % (res_target_api.root,)`},
		{"100% {{user.id}}", `"100%% %s" % (user.id,)`},
		{"{{tenant.token}}", `user.tenant.token`},
		{"{{probe-get.json.items}}", `r["probe-get"].json().items`},
		{"{{len(probe-get.body) - 1}}", `len(r["probe-get"].body) - 1`},
		{"{{'probe-get' + str(user.id)}}", `'probe-get' + str(user.id)`},
	} {
		got, err := Template(tc.in, testScope(), nil)
		if err != nil {
			t.Errorf("Template(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Template(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		off      int
	}{
		{"{{nosuch.x}}", `names nothing called "nosuch"`, 2},
		{"abc {{probe-gt.ok}}", `did you mean "probe-get"`, 6},
		{"{{probe-get.nope}}", `action "probe-get" has no "nope"`, 12},
		{"{{target.hots}}", `resource "target" has no "hots"`, 9},
		{"{{user.idd}}", `user has no "idd"`, 7},
		{"{{ user.id ==  }}", "invalid expression", 2},
		{"{{ unterminated", "unterminated {{", 0},
		{"{{}}", "empty {{ }}", 0},
		{"{{'abc}}", "unterminated string", 2},
	} {
		_, err := Template(tc.in, testScope(), nil)
		if err == nil {
			t.Errorf("Template(%q): no error, want %q", tc.in, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Template(%q) = %v, want %q", tc.in, err, tc.want)
		}
		if e, ok := err.(*Error); !ok || e.Off != tc.off {
			t.Errorf("Template(%q): offset %v, want %d", tc.in, err, tc.off)
		}
	}
}

// TestConditionsEvaluate runs rewritten conditions in Starlark: the origin
// system compared strings, so != and == never both worked.
func TestConditionsEvaluate(t *testing.T) {
	result := starlarkstruct.FromStringDict(starlark.String("result"), starlark.StringDict{
		"status_code": starlark.MakeInt(200), "ok": starlark.True,
	})
	r := starlark.NewDict(1)
	_ = r.SetKey(starlark.String("probe-get"), result)
	env := starlark.StringDict{"r": r}
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{"{{probe-get.status_code == 200}}", true},
		{"{{probe-get.status_code != 200}}", false},
		{"probe-get.status_code != 404", true},
		{"{{probe-get.status_code < 300 and probe-get.ok}}", true},
		{"{{probe-get.status_code >= 500 or not probe-get.ok}}", false},
		{"not probe-get.ok", false},
	} {
		src, err := Condition(tc.cond, testScope(), nil)
		if err != nil {
			t.Fatalf("Condition(%q): %v", tc.cond, err)
		}
		v, err := starlark.EvalOptions(Dialect, &starlark.Thread{}, "cond", src, env)
		if err != nil {
			t.Fatalf("eval %s: %v", src, err)
		}
		if bool(v.Truth()) != tc.want {
			t.Errorf("%s evaluated to %v, want %v", tc.cond, v, tc.want)
		}
	}
}

func TestRefs(t *testing.T) {
	var got []string
	_, err := Template("{{target.ip}} {{probe-get.ok}} {{user.id}}", testScope(), func(k Kind, id string) {
		got = append(got, id)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "target,probe-get" {
		t.Errorf("refs = %v", got)
	}
}

// FuzzTemplate checks that no input makes the template compiler panic,
// and that whatever it accepts is a valid Starlark expression.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"{{probe-get.status_code == 200}}", "a {{target.ip}} b", "{{'x}}'}}", "{{", "}}{{", "{{user.id - 1}}", "{{\"\"\"a\"\"\"}}", "{{probe-get-x.ok}}", "{{1e5}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Template(s, testScope(), nil)
		if err != nil {
			return
		}
		if _, err := starlark.EvalOptions(Dialect, &starlark.Thread{}, "fuzz", "None if True else ("+out+")", nil); err != nil &&
			strings.Contains(err.Error(), "syntax") {
			t.Fatalf("Template(%q) produced invalid Starlark %q: %v", s, out, err)
		}
	})
}
