package data

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// numbers is a table of n rows whose column "n" holds "1".."n".
func numbers(t testing.TB, n int) *Table {
	t.Helper()
	var b strings.Builder
	b.WriteString("n,twice\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,%d\n", i, 2*i)
	}
	tb, err := ParseCSV("n.csv", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func rowN(t testing.TB, v *View, id string) string {
	t.Helper()
	r, err := v.Row(id)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := r.Attr("n")
	return string(x.(starlark.String))
}

func TestPerUser(t *testing.T) {
	f := NewFeeds([]Source{{ID: "a", Order: PerUser, Table: numbers(t, 3)}}, 1)
	for user, want := range map[int]string{1: "1", 2: "2", 3: "3", 4: "1", 7: "1", 8: "2"} {
		v := f.View(user)
		for it := 1; it <= 3; it++ {
			v.Begin(it)
			if got := rowN(t, v, "a"); got != want {
				t.Fatalf("user %d iteration %d got row %s, want %s", user, it, got, want)
			}
		}
	}
}

func TestSequentialIsOneCursorForTheRun(t *testing.T) {
	f := NewFeeds([]Source{{ID: "a", Order: Sequential, Table: numbers(t, 4)}}, 1)
	u1, u2 := f.View(1), f.View(2)
	var got []string
	for it := 1; it <= 3; it++ {
		u1.Begin(it)
		u2.Begin(it)
		got = append(got, rowN(t, u1, "a"), rowN(t, u1, "a"), rowN(t, u2, "a"))
	}
	// Within an iteration a user keeps its row; each new iteration takes
	// the next row of the one cursor, wrapping at the end.
	if want := "1 1 2 3 3 4 1 1 2"; strings.Join(got, " ") != want {
		t.Fatalf("got %s, want %s", strings.Join(got, " "), want)
	}
}

func TestRandomIsReproducibleAndIndependentOfOrder(t *testing.T) {
	draw := func(seed uint64, reverse bool) map[[2]int]string {
		f := NewFeeds([]Source{{ID: "a", Order: Random, Table: numbers(t, 1000)}}, seed)
		out := map[[2]int]string{}
		users := []int{1, 2, 3, 4, 5}
		if reverse {
			users = []int{5, 4, 3, 2, 1}
		}
		for _, u := range users {
			v := f.View(u)
			for it := 1; it <= 20; it++ {
				v.Begin(it)
				out[[2]int{u, it}] = rowN(t, v, "a")
			}
		}
		return out
	}
	a, b, c := draw(7, false), draw(7, true), draw(8, false)
	distinct := map[string]bool{}
	same := 0
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("seed 7: user %d iteration %d got %s and then %s", k[0], k[1], v, b[k])
		}
		if c[k] == v {
			same++
		}
		distinct[v] = true
	}
	if same > 10 {
		t.Errorf("seeds 7 and 8 agree on %d of 100 draws from 1,000 rows", same)
	}
	if len(distinct) < 80 {
		t.Errorf("100 draws from 1,000 rows gave only %d distinct rows", len(distinct))
	}
}

func TestUniqueHandsEachRowOutOnceUnderConcurrency(t *testing.T) {
	const rows, users = 500, 20
	f := NewFeeds([]Source{{ID: "a", Order: Unique, OnExhausted: StopUser, Table: numbers(t, rows)}}, 1)
	var mu sync.Mutex
	seen := map[string]int{}
	stopped := 0
	var wg sync.WaitGroup
	for u := 1; u <= users; u++ {
		wg.Add(1)
		go func(u int) {
			defer wg.Done()
			v := f.View(u)
			for it := 1; ; it++ {
				v.Begin(it)
				r, err := v.Row("a")
				var ex *ExhaustedError
				if errors.As(err, &ex) {
					if !ex.StopUser || ex.Rows != rows || ex.Dataset != "a" {
						t.Errorf("exhausted: %+v", ex)
					}
					mu.Lock()
					stopped++
					mu.Unlock()
					return
				}
				x, _ := r.Attr("n")
				mu.Lock()
				seen[string(x.(starlark.String))]++
				mu.Unlock()
			}
		}(u)
	}
	wg.Wait()
	if len(seen) != rows || stopped != users {
		t.Fatalf("%d distinct rows handed out of %d, %d users stopped of %d", len(seen), rows, stopped, users)
	}
	for n, c := range seen {
		if c != 1 {
			t.Fatalf("row %s handed out %d times", n, c)
		}
	}
}

func TestUniqueOnExhausted(t *testing.T) {
	tb := numbers(t, 2)
	f := NewFeeds([]Source{
		{ID: "fail", Order: Unique, OnExhausted: FailIteration, Table: tb},
		{ID: "again", Order: Unique, OnExhausted: Recycle, Table: tb},
	}, 1)
	v := f.View(1)
	var got []string
	for it := 1; it <= 5; it++ {
		v.Begin(it)
		got = append(got, rowN(t, v, "again"))
		_, err := v.Row("fail")
		var ex *ExhaustedError
		if (it > 2) != errors.As(err, &ex) || (ex != nil && ex.StopUser) {
			t.Fatalf("iteration %d: %v", it, err)
		}
	}
	if strings.Join(got, " ") != "1 2 1 2 1" {
		t.Fatalf("recycle: %v", got)
	}
	_, err := v.Row("fial")
	if err == nil || !strings.Contains(err.Error(), `no dataset "fial" (did you mean "fail"?)`) {
		t.Fatalf("unknown dataset: %v", err)
	}
}

// The rows users read are the table's own, not copies: two users on the
// same row read the very same bytes.
func TestUsersShareRows(t *testing.T) {
	tb := numbers(t, 3)
	f := NewFeeds([]Source{{ID: "a", Table: tb}}, 1)
	r1, _ := f.View(1).Row("a")
	r4, _ := f.View(4).Row("a")
	if r1.t != tb || r4.t != tb || r1.i != 0 || r4.i != 0 {
		t.Fatal("users 1 and 4 must read row 0 of the one table")
	}
	v1, _ := r1.Attr("twice")
	v4, _ := r4.Attr("twice")
	if unsafe.StringData(string(v1.(starlark.String))) != unsafe.StringData(string(v4.(starlark.String))) {
		t.Fatal("the two users' values are copies")
	}
}

// run loads src with SourceProgram, then calls its flow() as each user.
func run(t *testing.T, src string, f *Feeds, users ...int) []string {
	t.Helper()
	predeclared := starlark.StringDict{"data": Builtin}
	_, prog, err := SourceProgram(&syntax.FileOptions{}, "t.star", src, predeclared.Has)
	if err != nil {
		t.Fatal(err)
	}
	globals, err := prog.Init(&starlark.Thread{}, predeclared)
	if err != nil {
		t.Fatal(err)
	}
	globals.Freeze()
	var out []string
	for _, u := range users {
		th := &starlark.Thread{}
		v := f.View(u)
		v.Begin(1)
		Attach(th, v)
		res, err := starlark.Call(th, globals["flow"], nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res.String())
	}
	return out
}

func TestSourceProgramReadsEachUsersRow(t *testing.T) {
	f := NewFeeds([]Source{{ID: "acc", Table: numbers(t, 3)}}, 1)
	src := `
def twice(row):
    return row["twice"]

def helper():
    return [data.acc.n for _ in range(1)][0] + (lambda: data.acc["n"])()

def local(data):
    return data

def flow():
    d = data
    return ",".join([data.acc.n, d.acc.twice, twice(data.acc), helper(), local("x"), type(data), str(len(data.acc)), str(sorted(dict(data.acc).keys()))])
`
	got := run(t, src, f, 1, 2)
	want := []string{`"1,2,2,11,x,data,2,[\"n\", \"twice\"]"`, `"2,4,4,22,x,data,2,[\"n\", \"twice\"]"`}
	if len(got) != 2 {
		t.Fatal(got)
	}
	for i, g := range got {
		if g != want[i] {
			t.Errorf("user %d: got %s, want %s", i+1, g, want[i])
		}
	}
}

func TestSourceProgramErrors(t *testing.T) {
	f := NewFeeds([]Source{{ID: "accounts", Table: numbers(t, 3)}}, 1)
	predeclared := starlark.StringDict{"data": Builtin}
	load := func(src string) (starlark.StringDict, error) {
		_, prog, err := SourceProgram(&syntax.FileOptions{}, "t.star", src, predeclared.Has)
		if err != nil {
			return nil, err
		}
		return prog.Init(&starlark.Thread{}, predeclared)
	}
	call := func(g starlark.StringDict) error {
		th := &starlark.Thread{}
		Attach(th, f.View(1))
		_, err := starlark.Call(th, g["flow"], nil, nil)
		return err
	}
	g, err := load("def flow():\n    return data.acounts.n\n")
	if err != nil {
		t.Fatal(err)
	}
	err = call(g)
	if err == nil || !strings.Contains(err.Error(), `data has no dataset "acounts" (did you mean .accounts?)`) {
		t.Fatalf("a misspelt dataset: %v", err)
	}
	var ee *starlark.EvalError
	if !errors.As(err, &ee) || ee.CallStack.At(0).Pos.Line != 2 || ee.CallStack.At(0).Pos.Col != 16 {
		t.Errorf("position: %v", ee.CallStack)
	}
	g, _ = load("def flow():\n    return data.accounts.twce\n")
	if err := call(g); err == nil || !strings.Contains(err.Error(), `n.csv has no column "twce" (did you mean .twice?)`) {
		t.Fatalf("a misspelt column: %v", err)
	}
	g, _ = load("def flow():\n    return data.accounts[\"twic\"]\n")
	if err := call(g); err == nil || !strings.Contains(err.Error(), `n.csv has no column "twic" (did you mean "twice"?)`) {
		t.Fatalf("a misspelt column by key: %v", err)
	}
	if _, err := load("x = data.accounts\n"); err == nil || !strings.Contains(err.Error(), "there is no user here") {
		t.Fatalf("at load time: %v", err)
	}
	// A program that defines its own data is left alone.
	g, err = load("data = {\"a\": 1}\ndef flow():\n    return data[\"a\"]\n")
	if err != nil || call(g) != nil {
		t.Fatalf("a global named data: %v", err)
	}
	// Syntax and resolve errors come back as starlark would give them.
	if _, err := load("def flow(:\n"); err == nil {
		t.Fatal("syntax error not reported")
	}
	if _, err := load("def flow():\n    return data.x + nope\n"); err == nil || !strings.Contains(err.Error(), "undefined: nope") {
		t.Fatalf("resolve error: %v", err)
	}
}

func TestSourceProgramReadsSetupsValue(t *testing.T) {
	predeclared := starlark.StringDict{"data": Builtin, SetupName: starlark.None, SetupBuiltinName: SetupBuiltin}
	_, prog, err := SourceProgram(&syntax.FileOptions{}, "t.star", `
def setup():
    return "never called here"

def shadow(setup):
    return setup

def flow():
    return [setup, shadow("local"), (lambda: setup)(), type(setup)]
`, predeclared.Has)
	if err != nil {
		t.Fatal(err)
	}
	g, err := prog.Init(&starlark.Thread{}, predeclared)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g["setup"].(*starlark.Function); !ok {
		t.Fatalf("the global setup must stay the function, for the runtime to call: %v", g["setup"])
	}
	th := &starlark.Thread{}
	AttachSetup(th, starlark.String("tok"))
	v, err := starlark.Call(th, g["flow"], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != `["tok", "local", "tok", "string"]` {
		t.Errorf("got %s", got)
	}
}
