package main

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntx-dev/ntx/engine"
)

// oneGet is a scenario that sends one request to the test target: a run
// that starts is seen by the target, one that is refused is not.
const oneGet = "name: one\nactions: [{id: a, call: get, with: {url: 'http://{{env.NTX_TARGET_HTTP}}/asset'}}]\ntasks: [{id: s, action: a}]\n"

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnwritableOutputsRefusedBeforeTheRun: a path that cannot be
// written is an input error (exit 2) that names the flag and the path,
// and no load is sent, instead of a result lost after a long run.
func TestUnwritableOutputsRefusedBeforeTheRun(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "one.yaml"), oneGet)
	aFile := writeFile(t, filepath.Join(dir, "plain.txt"), "x")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing directory", []string{"--out", filepath.Join(dir, "no", "such", "r.json")}, "--out " + filepath.Join(dir, "no", "such", "r.json") + ": cannot write it"},
		{"under a regular file", []string{"--report", filepath.Join(aFile, "r.html")}, "--report " + filepath.Join(aFile, "r.html") + ": cannot write it"},
		{"a directory", []string{"--out", dir}, "--out " + dir + ": is a directory"},
		{"both the same file", []string{"--out", filepath.Join(dir, "r"), "--report", filepath.Join(dir, ".", "r")}, "the same file as --out"},
		{"cpu profile", []string{"--cpuprofile", filepath.Join(dir, "no", "cpu.prof")}, "--cpuprofile " + filepath.Join(dir, "no", "cpu.prof")},
		{"allocation profile", []string{"--memprofile", filepath.Join(dir, "no", "mem.prof")}, "--memprofile " + filepath.Join(dir, "no", "mem.prof")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := ntx(t, append(append([]string{"exec", "--quiet"}, c.args...), file)...)
			if code != exitInvalid || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, want 2 with %q\nstdout:\n%s\nstderr:\n%s", code, c.want, stdout, stderr)
			}
			if n := len(srv.Seen()); n != 0 {
				t.Errorf("the run started anyway: the target saw %d requests", n)
			}
		})
	}
	// The checks leave nothing behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("the directory holds %d entries after the checks, want the 2 the test wrote", len(entries))
	}
}

// TestScenarioIsNeverAnOutput: naming the scenario as an output, by any
// spelling of its path, is refused and leaves the scenario untouched.
func TestScenarioIsNeverAnOutput(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "s.yaml"), oneGet)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if err := os.Symlink(file, filepath.Join(dir, "link.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(file, filepath.Join(dir, "hard.json")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, out := range []string{
		file,
		"s.yaml",
		"./sub/../s.yaml",
		dir + "/sub/../s.yaml",
		"link.json",
		"hard.json",
	} {
		for _, flag := range []string{"--out", "--report"} {
			code, _, stderr := ntx(t, "exec", "--quiet", flag, out, "s.yaml")
			if code != exitInvalid || !strings.Contains(stderr, flag+" "+out+": is the scenario file") {
				t.Errorf("%s %s: exit %d, want 2\n%s", flag, out, code, stderr)
			}
		}
	}
	if b, _ := os.ReadFile(file); string(b) != oneGet {
		t.Errorf("the scenario was changed:\n%s", b)
	}
	if n := len(srv.Seen()); n != 0 {
		t.Errorf("the target saw %d requests", n)
	}
	// compile -o the YAML it reads.
	code, _, stderr := ntx(t, "compile", "-o", "./s.yaml", "s.yaml")
	if code != exitInvalid || !strings.Contains(stderr, "-o ./s.yaml: is the scenario file") {
		t.Errorf("compile -o its input: exit %d\n%s", code, stderr)
	}
	if b, _ := os.ReadFile(file); string(b) != oneGet {
		t.Errorf("compile changed the scenario:\n%s", b)
	}
}

// TestResultsAreReplacedAtomically: a result file is replaced whole, by
// a rename: a reader that opened the previous result still reads all of
// it, the new one is complete, no temporary file is left, and a symlink
// named as the output keeps pointing where it did.
func TestResultsAreReplacedAtomically(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "one.yaml"), oneGet)
	results := filepath.Join(dir, "results")
	old := strings.Repeat("previous result\n", 10000)
	out := writeFile(t, filepath.Join(results, "r.json"), old)
	if err := os.Symlink(filepath.Join(results, "r.json"), filepath.Join(dir, "latest.json")); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()

	code, stdout, stderr := ntx(t, "exec", "--quiet", "--out", filepath.Join(dir, "latest.json"), "--report", filepath.Join(results, "r.html"), file)
	if code != exitPassed {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res engine.Result
	if err := json.Unmarshal(b, &res); err != nil || res.Scenario != "one" || res.Actions["a"] == nil || res.Actions["a"].Count != 1 {
		t.Errorf("the result behind the link: %v\n%s", err, b)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "latest.json")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink named by --out was replaced: %v", err)
	}
	var before strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := reader.Read(buf)
		before.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if before.String() != old {
		t.Errorf("a reader of the previous result read %d bytes of %d", before.Len(), len(old))
	}
	entries, _ := os.ReadDir(results)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "r.html r.json" {
		t.Errorf("results directory holds %v, want r.html and r.json only", names)
	}
}

// TestCompileElsewhere: a program written with -o into another
// directory loads its modules from there; where it could not, compile
// says so instead of writing a program that fails on every run.
func TestCompileElsewhere(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	src, _ := os.ReadFile("../../testdata/valid/custom.yaml")
	yamlPath := writeFile(t, filepath.Join(dir, "scenarios", "custom.yaml"), string(src))
	for _, f := range []string{"auth.star", "util.star"} {
		b, _ := os.ReadFile("../../testdata/valid/lib/" + f)
		writeFile(t, filepath.Join(dir, "scenarios", "lib", f), string(b))
	}
	starPath := filepath.Join(dir, "custom.star")
	if code, _, stderr := ntx(t, "compile", "-o", starPath, yamlPath); code != exitPassed {
		t.Fatalf("compile: exit %d\n%s", code, stderr)
	}
	prog, _ := os.ReadFile(starPath)
	if !strings.Contains(string(prog), `load("scenarios/lib/auth.star", `) {
		t.Errorf("load() path not rewritten:\n%s", prog)
	}
	// custom.yaml's action "broken" raises on purpose: a script error
	// fails the run (exit 1, spec §6.1), after both requests were made.
	code, stdout, stderr := ntx(t, "exec", "--quiet", starPath)
	if code != exitFailed || !strings.Contains(stdout, "login") || len(srv.Seen()) != 2 {
		t.Errorf("exec of the moved program: exit %d, target saw %d requests\n%s%s", code, len(srv.Seen()), stdout, stderr)
	}

	// Below the modules' directory the program could not load them.
	below := filepath.Join(dir, "scenarios", "build", "custom.star")
	os.Mkdir(filepath.Dir(below), 0o755)
	code, _, stderr = ntx(t, "compile", "-o", below, yamlPath)
	if code != exitInvalid || !strings.Contains(stderr, "custom.yaml:5:9: module \"auth\": lib/auth.star would be outside the directory of "+below) {
		t.Errorf("compile -o below the modules: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(below); err == nil {
		t.Errorf("a program that cannot load its modules was written")
	}
}

// TestFileTypeIgnoresCase: Flow.STAR is Starlark, and compile of a
// Starlark file says what it is rather than a YAML syntax error.
func TestFileTypeIgnoresCase(t *testing.T) {
	srv := startTarget(t)
	dir := t.TempDir()
	flow := writeFile(t, filepath.Join(dir, "Flow.STAR"), "def flow(user):\n    http.get('http://' + env.NTX_TARGET_HTTP + '/asset', name = 'asset')\n")
	code, stdout, stderr := ntx(t, "exec", "--quiet", flow)
	if code != exitPassed || !strings.Contains(stdout, "asset") || len(srv.Seen()) != 1 {
		t.Errorf("exec Flow.STAR: exit %d, target saw %d\n%s%s", code, len(srv.Seen()), stdout, stderr)
	}
	code, stdout, stderr = ntx(t, "compile", flow)
	if code != exitInvalid || stdout != "" || !strings.Contains(stderr, "Flow.STAR: is already a Starlark program") || strings.Contains(stderr, "YAML syntax") {
		t.Errorf("compile of a .star: exit %d\n%s%s", code, stdout, stderr)
	}
	lower := writeFile(t, filepath.Join(dir, "flow.star"), "def flow(user):\n    pass\n")
	if code, _, stderr := ntx(t, "compile", lower); code != exitInvalid || !strings.Contains(stderr, "already a Starlark program; `ntx exec") {
		t.Errorf("compile of flow.star: exit %d\n%s", code, stderr)
	}
	upper := writeFile(t, filepath.Join(dir, "S.YML"), "name: up\ntasks: [{id: s}]\n")
	if code, stdout, stderr := ntx(t, "validate", upper); code != exitPassed || !strings.Contains(stdout, "S.YML: ok") {
		t.Errorf("validate S.YML: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		code, stdout, stderr := ntx(t, args...)
		if code != exitPassed || stdout != "ntx "+version+"\n" || stderr != "" {
			t.Errorf("ntx %v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// TestValidateManyFiles reports each file, and exits 2 if any is bad.
func TestValidateManyFiles(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "good.yaml"), "name: g\ntasks: [{id: s}]\n")
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), "name: b\ntaks: []\n")
	star := writeFile(t, filepath.Join(dir, "good.star"), "def flow(user):\n    pass\n")
	badStar := writeFile(t, filepath.Join(dir, "bad.star"), "def flow(user):\n    nosuch()\n")
	code, stdout, stderr := ntx(t, "validate", good, bad, star, badStar, filepath.Join(dir, "missing.yaml"))
	if code != exitInvalid {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{good + ": ok", star + ": ok"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, want := range []string{bad + ":2:1: unknown key \"taks\"", badStar + ":2:5: undefined: nosuch", filepath.Join(dir, "missing.yaml") + ": cannot read the scenario"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stdout, "bad") {
		t.Errorf("a bad file was reported ok:\n%s", stdout)
	}
	if code, stdout, _ := ntx(t, "validate", good, star); code != exitPassed || strings.Count(stdout, ": ok") != 2 {
		t.Errorf("two good files: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := ntx(t, "validate"); code != exitInvalid || !strings.Contains(stderr, "want one or more scenario files") {
		t.Errorf("no file: exit %d\n%s", code, stderr)
	}
}

// TestNoEmptyHelpSection: every help page's sections have content.
func TestNoEmptyHelpSection(t *testing.T) {
	for _, cmd := range []string{"exec", "validate", "compile", "serve", "version"} {
		_, _, stderr := ntx(t, cmd, "--help")
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "Usage:") && strings.TrimSpace(l) != l {
				t.Errorf("ntx %s --help: %q ends in a space", cmd, l)
			}
			if strings.HasSuffix(l, ":") && (i+1 == len(lines) || strings.TrimSpace(lines[i+1]) == "") {
				t.Errorf("ntx %s --help: section %q is empty:\n%s", cmd, l, stderr)
			}
		}
	}
	// validate takes -e, since a .star file's top level, which validate
	// runs, may read env.
	if _, _, stderr := ntx(t, "validate", "--help"); !strings.Contains(stderr, "-e, --env NAME") {
		t.Errorf("validate --help does not list -e:\n%s", stderr)
	}
}

// TestUnnamedScenarioNamedAfterItsFile: the summary and the JSON name a
// scenario that names itself nowhere after its file.
func TestUnnamedScenarioNamedAfterItsFile(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	star := writeFile(t, filepath.Join(dir, "nameless.star"), "def flow(user):\n    pass\n")
	yml := writeFile(t, filepath.Join(dir, "anon.yml"), strings.TrimPrefix(oneGet, "name: one\n"))
	for file, name := range map[string]string{star: "nameless", yml: "anon"} {
		out := filepath.Join(dir, name+".json")
		code, stdout, stderr := ntx(t, "exec", "--quiet", "--out", out, file)
		if code != exitPassed || !strings.Contains(stdout, "scenario "+name+": passed") {
			t.Errorf("%s: exit %d\n%s%s", file, code, stdout, stderr)
		}
		var res engine.Result
		b, _ := os.ReadFile(out)
		if err := json.Unmarshal(b, &res); err != nil || res.Scenario != name {
			t.Errorf("%s: JSON scenario %q (%v)", file, res.Scenario, err)
		}
	}
	// The compiled program keeps the YAML's name wherever it is saved.
	moved := filepath.Join(dir, "elsewhere.star")
	if code, _, stderr := ntx(t, "compile", "-o", moved, yml); code != exitPassed {
		t.Fatalf("compile: exit %d\n%s", code, stderr)
	}
	if code, stdout, _ := ntx(t, "exec", "--quiet", moved); code != exitPassed || !strings.Contains(stdout, "scenario anon: passed") {
		t.Errorf("compiled nameless YAML: exit %d\n%s", code, stdout)
	}
}

// TestExecWritesProfiles: --memprofile, --mutexprofile and --blockprofile
// each leave a gzipped pprof profile after the run.
func TestExecWritesProfiles(t *testing.T) {
	startTarget(t)
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "one.yaml"), oneGet)
	var args []string
	for _, p := range []string{"mem", "mutex", "block", "cpu"} {
		args = append(args, "--"+p+"profile", filepath.Join(dir, p+".prof"))
	}
	code, stdout, stderr := ntx(t, append(append([]string{"exec", "--quiet", "--users", "4", "--iterations", "20"}, args...), file)...)
	if code != exitPassed {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, p := range []string{"mem", "mutex", "block", "cpu"} {
		f, err := os.Open(filepath.Join(dir, p+".prof"))
		if err != nil {
			t.Fatalf("--%sprofile: %v", p, err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("--%sprofile is not a gzipped profile: %v", p, err)
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil || len(b) == 0 {
			t.Errorf("--%sprofile: %d bytes, %v", p, len(b), err)
		}
	}
}
