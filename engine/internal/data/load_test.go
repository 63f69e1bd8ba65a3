package data

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// oneError returns the only error of err, which must be an Errors.
func oneError(t *testing.T, err error) *Error {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) || len(es) != 1 {
		t.Fatalf("want one data.Error, got %v", err)
	}
	return es[0]
}

func TestParseCSV(t *testing.T) {
	tb, err := ParseCSV("a.csv", []byte("\uFEFFusername,password\nu1,p1\n\n\"u,2\",\"p\"\"2\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tb.Columns, "|"); got != "username|password" {
		t.Fatalf("columns %q (the BOM must not stick to the first)", got)
	}
	if tb.Len() != 2 {
		t.Fatalf("want 2 rows (blank lines skipped), got %d", tb.Len())
	}
	r := tb.Row(1)
	if v, _ := r.Attr("username"); v != starlark.String("u,2") {
		t.Errorf("username = %v", v)
	}
	if v, _, _ := r.Get(starlark.String("password")); v != starlark.String(`p"2`) {
		t.Errorf("password = %v", v)
	}
	if got := r.String(); got != `{"username": "u,2", "password": "p\"2"}` {
		t.Errorf("String() = %s", got)
	}
}

func TestParseCSVErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"ragged", "a,b,c\n1,2,3\n4,5\n6,7,8\n", "a.csv:3:1: this row has 2 fields but the header has 3 columns"},
		{"too many", "a,b\n1,2\n3,4,5\n", "a.csv:3:1: this row has 3 fields but the header has 2 columns"},
		{"quote", "a,b\n1,x\"y\n", "a.csv:2:4: bare \" in non-quoted-field"},
		{"empty", "", "a.csv:1:1: the file is empty"},
		{"header only", "a,b\n", "a.csv:1:1: the file has a header but no rows"},
		{"duplicate column", "a,b,a\n1,2,3\n", `a.csv:1:5: column "a" is named twice in the header (columns 1 and 3)`},
		{"blank column", "a,,c\n1,2,3\n", "a.csv:1:3: column 2 of the header has no name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseCSV("a.csv", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestParseCSVReportsEveryRaggedRowUpToALimit(t *testing.T) {
	src := "a,b\n" + strings.Repeat("1\n", 50)
	_, err := ParseCSV("a.csv", []byte(src))
	var es Errors
	if !errors.As(err, &es) || len(es) != MaxErrors {
		t.Fatalf("want %d errors, got %v", MaxErrors, err)
	}
	if es[0].Line != 2 || es[MaxErrors-1].Line != MaxErrors+1 {
		t.Fatalf("lines %d..%d", es[0].Line, es[MaxErrors-1].Line)
	}
}

func TestParseJSON(t *testing.T) {
	src := `[
  {"id": 1, "name": "a", "tags": ["x", "y"], "price": 2.5},
  {"name": "b", "id": 12345678901234567890123, "extra": {"k": null}}
]`
	tb, err := ParseJSON("p.json", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tb.Columns, "|"); got != "id|name|tags|price|extra" {
		t.Fatalf("columns %q: want the order of first appearance", got)
	}
	r0, r1 := tb.Row(0), tb.Row(1)
	if v, _ := r0.Attr("id"); v.String() != "1" || v.Type() != "int" {
		t.Errorf("id = %v (%s)", v, v.Type())
	}
	if v, _ := r0.Attr("price"); v != starlark.Float(2.5) {
		t.Errorf("price = %v", v)
	}
	if v, _ := r1.Attr("id"); v.String() != "12345678901234567890123" {
		t.Errorf("big id = %v", v)
	}
	if v, _ := r1.Attr("tags"); v != starlark.None {
		t.Errorf("a key the object lacks must be None, got %v", v)
	}
	tags, _ := r0.Attr("tags")
	if err := tags.(*starlark.List).Append(starlark.String("z")); err == nil {
		t.Error("nested values must be frozen: all users share them")
	}
}

func TestParseJSONErrors(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"syntax", "[\n  {\"a\": 1},\n  {\"a\": 2,}\n]", "p.json:3:11: invalid JSON"},
		{"not a list", "\n  {\"a\": 1}", "p.json:2:3: a JSON data file holds a list of objects ([{...}, {...}]), not an object"},
		{"not an object", "[{\"a\": 1},\n 7]", "p.json:2:2: entry 2 of the list is a number; every entry must be an object"},
		{"empty list", " [ ]", "p.json:1:2: the list is empty"},
		{"empty file", "", "p.json:1:1: the file is empty"},
		{"truncated", "[{\"a\": 1}\n", "p.json:2:1: invalid JSON: the file ends in the middle of a value"},
		{"trailing", "[{\"a\": 1}]\n[]", "p.json:2:1: invalid JSON: invalid character '[' after top-level value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseJSON("p.json", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	root := t.TempDir()
	scen := filepath.Join(root, "scen")
	write(t, scen, "data/a.csv", "u\n1\n")
	write(t, root, "secret.csv", "u\nsecret\n")
	write(t, scen, "data/x.txt", "u\n1\n")

	if tb, err := Open(scen, "data/a.csv"); err != nil || tb.Len() != 1 {
		t.Fatalf("Open: %v", err)
	}
	if tb, err := Open(scen, filepath.Join(scen, "data/a.csv")); err != nil || tb.Len() != 1 {
		t.Fatalf("an absolute path inside the tree: %v", err)
	}

	e := oneError(t, mustFail(Open(scen, "data/missing.csv")))
	if e.Line != 0 || !strings.Contains(e.Msg, `"data/missing.csv" does not exist`) {
		t.Errorf("missing: %+v", e)
	}
	e = oneError(t, mustFail(Open(scen, "../secret.csv")))
	if e.Line != 0 || !strings.Contains(e.Msg, "outside the scenario's directory") {
		t.Errorf("../: %+v", e)
	}
	e = oneError(t, mustFail(Open(scen, filepath.Join(root, "secret.csv"))))
	if !strings.Contains(e.Msg, "outside the scenario's directory") {
		t.Errorf("absolute outside: %+v", e)
	}
	if err := os.Symlink(filepath.Join(root, "secret.csv"), filepath.Join(scen, "data/link.csv")); err != nil {
		t.Fatal(err)
	}
	e = oneError(t, mustFail(Open(scen, "data/link.csv")))
	if !strings.Contains(e.Msg, "outside the scenario's directory") {
		t.Errorf("a link out of the tree must be refused: %+v", e)
	}
	if err := os.Symlink("a.csv", filepath.Join(scen, "data/inside.csv")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(scen, "data/inside.csv"); err != nil {
		t.Errorf("a link that stays inside the tree is fine: %v", err)
	}
	e = oneError(t, mustFail(Open(scen, "data/x.txt")))
	if !strings.Contains(e.Msg, "only .csv") {
		t.Errorf("extension: %+v", e)
	}
	if err := os.Mkdir(filepath.Join(scen, "dir.csv"), 0o755); err != nil {
		t.Fatal(err)
	}
	e = oneError(t, mustFail(Open(scen, "dir.csv")))
	if !strings.Contains(e.Msg, "not a regular file") {
		t.Errorf("directory: %+v", e)
	}

	// Errors inside the file name it as the scenario's directory joins it.
	write(t, scen, "data/bad.csv", "a,b\n1\n")
	e = oneError(t, mustFail(Open(scen, "data/bad.csv")))
	if want := filepath.Join(scen, "data/bad.csv") + ":2:1:"; !strings.HasPrefix(e.Error(), want) {
		t.Errorf("got %q, want it to start with %q", e.Error(), want)
	}
}

func mustFail(_ *Table, err error) error { return err }
