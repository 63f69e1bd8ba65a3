package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ntx-dev/ntx/engine/target"
)

// hostileDir holds the hostile corpus: inputs that once crashed ntx, ate
// its memory or left its sandbox, each with its expected outcome in the
// comment lines at its top (see hostileCase).
const hostileDir = "../../testdata/hostile"

// hostileCase is what a corpus file's header says:
//
//	# run: exec -q                   the ntx command and flags (default: validate)
//	# exit: 2                        the exit code
//	# error: 6:19 alias cycle        an output line holding FILE:6:19: and the text
//	                                 (0 for the line or column: any)
//	# output: too_large              text the output holds
//	# absent: hunter2                text the output must not hold
//	# max-output: 100 KB             a bound on the output's size
//	# rss: < 120 MB                  a bound on the process's peak RSS
//	# link: name -> target           a symbolic link made next to the file
//	# setenv: NAME=VALUE             an environment variable of the process
//	# target: yes                    start the built-in target (NTX_TARGET_*)
//	# pending: reason                skipped, with the reason, until it lands
//
// {outside} in a file or a link stands for a directory outside the
// scenario's tree that holds secrets (.env, secret.star, users.csv and
// ca.pem).
type hostileCase struct {
	args      []string
	exit      int
	errors    []string // "L:C text"
	outputs   []string
	absent    []string
	maxOutput int64
	rssMB     int64
	links     [][2]string
	env       []string
	target    bool
	pending   string
}

func parseHostile(t *testing.T, src []byte) hostileCase {
	t.Helper()
	c := hostileCase{args: []string{"validate"}, exit: -1}
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "# ")
		if !ok {
			break
		}
		key, val, ok := strings.Cut(line, ": ")
		if !ok {
			continue // prose
		}
		val = strings.TrimSpace(val)
		switch key {
		case "run":
			c.args = strings.Fields(val)
		case "exit":
			n, err := strconv.Atoi(val)
			if err != nil {
				t.Fatalf("exit: %v", err)
			}
			c.exit = n
		case "error":
			c.errors = append(c.errors, val)
		case "output":
			c.outputs = append(c.outputs, val)
		case "absent":
			c.absent = append(c.absent, val)
		case "max-output":
			c.maxOutput = sizeOf(t, val)
		case "rss":
			c.rssMB = sizeOf(t, strings.TrimPrefix(val, "< ")) >> 20
		case "link":
			name, to, ok := strings.Cut(val, " -> ")
			if !ok {
				t.Fatalf("link: want NAME -> TARGET, got %q", val)
			}
			c.links = append(c.links, [2]string{name, to})
		case "setenv":
			c.env = append(c.env, val)
		case "target":
			c.target = val == "yes"
		case "pending":
			c.pending = val
		}
	}
	if c.exit < 0 {
		t.Fatal("the header gives no `# exit:`")
	}
	return c
}

// sizeOf reads "120 MB" or "100 KB".
func sizeOf(t *testing.T, s string) int64 {
	num, unit, _ := strings.Cut(s, " ")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	switch unit {
	case "MB":
		return n << 20
	case "KB":
		return n << 10
	}
	t.Fatalf("size %q: the unit must be KB or MB", s)
	return 0
}

// rssRunner is a small program that runs the command named by its
// arguments, passes its output and exit code through and writes its peak
// RSS (kilobytes) to the file NTX_HOSTILE_RSS names. The corpus measures
// through it because os/exec starts a child with vfork, and at its exec
// the kernel folds the parent's high-water RSS into the child's maxrss: a
// child of the test process would report at least the test process's own
// peak. The runner is built without the race detector and does nothing
// else, so the floor it adds is a few megabytes.
const rssRunner = `package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		fmt.Fprintln(os.Stderr, "rss runner:", err)
		os.Exit(125)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		_ = os.WriteFile(os.Getenv("NTX_HOSTILE_RSS"), []byte(strconv.FormatInt(int64(ru.Maxrss), 10)), 0o644)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
`

// TestHostileCorpus runs every input of testdata/hostile through the real
// command, built as users run it, in a process of its own, and checks its exit code, its
// messages and their positions, and its peak memory: what the kernel
// measured as the process's high-water RSS (the maxrss of its rusage, see
// rssRunner), not time, so that a budget holds however busy the machine is.
// A Go panic or fatal error fails every case.
func TestHostileCorpus(t *testing.T) {
	entries, err := os.ReadDir(hostileDir)
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	for name, content := range map[string]string{
		".env":        "SECRET = \"hunter2\"\n", // a .env file is valid Starlark
		"secret.star": "SECRET = \"hunter2\"\n",
		"users.csv":   "name,password\nroot,hunter2\n",
		"ca.pem":      "-----BEGIN CERTIFICATE-----\nhunter2\n-----END CERTIFICATE-----\n",
	} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin, runner := buildNTX(t)
	var srv *target.Server
	top := t
	n := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		n++
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(hostileDir, name))
			if err != nil {
				t.Fatal(err)
			}
			c := parseHostile(t, src)
			if c.pending != "" {
				t.Skipf("expected, not yet implemented: %s", c.pending)
			}
			// A copy of its own, so that links and outputs stay in the test's
			// directory.
			dir := t.TempDir()
			file := filepath.Join(dir, name)
			src = bytes.ReplaceAll(src, []byte("{outside}"), []byte(outside))
			if err := os.WriteFile(file, src, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, l := range c.links {
				to := strings.ReplaceAll(l[1], "{outside}", outside)
				if err := os.Symlink(to, filepath.Join(dir, l[0])); err != nil {
					t.Skipf("cannot make symbolic links here: %v", err)
				}
			}
			env := os.Environ()
			if c.target {
				if srv == nil {
					if srv, err = target.StartEphemeral(); err != nil {
						t.Fatal(err)
					}
					top.Cleanup(srv.Close) // shared by the cases that ask for it
				}
				for k, v := range srv.Env() {
					env = append(env, k+"="+v)
				}
			}
			env = append(env, c.env...)
			scratch := t.TempDir()
			rssFile := filepath.Join(scratch, "maxrss")
			// TMPDIR: a crash's report file (exit 4) goes to the test's own
			// directory, removed with it, not to /tmp.
			env = append(env, "TMPDIR="+scratch)
			cmd := exec.Command(runner, append([]string{bin}, append(c.args, file)...)...)
			cmd.Env, cmd.Dir = append(env, "NTX_HOSTILE_RSS="+rssFile), dir
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err = cmd.Run()
			var exitErr *exec.ExitError
			if err != nil && !errors.As(err, &exitErr) {
				t.Fatal(err)
			}
			text := out.String()
			show := text
			if len(show) > 4000 {
				show = show[:4000] + "..."
			}
			for _, bad := range []string{"panic:", "fatal error:", "goroutine ", "internal error"} {
				if strings.Contains(text, bad) {
					t.Fatalf("a Go panic or fatal error (%q):\n%s", bad, show)
				}
			}
			if got := cmd.ProcessState.ExitCode(); got != c.exit {
				t.Errorf("exit %d, want %d; output:\n%s", got, c.exit, show)
			}
			for _, want := range c.errors {
				if !hasError(text, file, want) {
					t.Errorf("no error %q in the output:\n%s", want, show)
				}
			}
			for _, want := range c.outputs {
				if !strings.Contains(text, want) {
					t.Errorf("the output does not say %q:\n%s", want, show)
				}
			}
			for _, bad := range c.absent {
				if strings.Contains(text, bad) {
					t.Errorf("the output holds %q:\n%s", bad, show)
				}
			}
			if c.maxOutput > 0 && int64(len(text)) > c.maxOutput {
				t.Errorf("the output is %d bytes, want at most %d", len(text), c.maxOutput)
			}
			if c.rssMB > 0 {
				kb, err := os.ReadFile(rssFile)
				if err != nil {
					t.Fatalf("the peak RSS was not measured: %v", err)
				}
				n, err := strconv.ParseInt(string(kb), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				peak := n >> 10 // maxrss is in KiB on Linux
				t.Logf("peak RSS %d MB (budget %d MB)", peak, c.rssMB)
				if peak >= c.rssMB {
					t.Errorf("peak RSS %d MB, want under %d MB", peak, c.rssMB)
				}
			}
		})
	}
	if n < 20 {
		t.Errorf("the corpus has %d inputs; it should have every input of issue 8", n)
	}
}

// buildNTX builds the command as users run it, without the race
// detector, whose shadow memory would swamp the peak RSS measured, and
// the runner that measures it, once per test process.
func buildNTX(t *testing.T) (bin, runner string) {
	t.Helper()
	built.once.Do(func() { built.bin, built.runner, built.err = buildOnce() })
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin, built.runner
}

// built keeps the binaries for the life of the test process: linking ntx
// again for every -count costs more CPU than the corpus itself (1.6 CPU
// seconds a time), which a busy machine cannot spare. TestMain removes
// built.dir.
var built struct {
	once             sync.Once
	dir, bin, runner string
	err              error
}

func buildOnce() (bin, runner string, err error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("the corpus builds ntx with the go command: %w", err)
	}
	if built.dir, err = os.MkdirTemp("", "ntx-hostile-"); err != nil {
		return "", "", err
	}
	bin, runner = filepath.Join(built.dir, "ntx"), filepath.Join(built.dir, "rssrun")
	src := filepath.Join(built.dir, "rssrun.go")
	if err := os.WriteFile(src, []byte(rssRunner), 0o644); err != nil {
		return "", "", err
	}
	for _, b := range []*exec.Cmd{
		exec.Command(goCmd, "build", "-o", bin, "."),
		exec.Command(goCmd, "build", "-o", runner, src),
	} {
		if out, err := b.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("%v: %w\n%s", b.Args, err, out)
		}
	}
	return bin, runner, nil
}

// hasError reports whether some output line holds FILE:L:C: and the text
// of want ("L:C text"); a 0 line or column matches any.
func hasError(out, file, want string) bool {
	at, text, _ := strings.Cut(want, " ")
	l, c, _ := strings.Cut(at, ":")
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, text) {
			continue
		}
		prefix := file + ":"
		i := strings.Index(line, prefix)
		if i < 0 {
			continue
		}
		pos := strings.SplitN(line[i+len(prefix):], ":", 3)
		if len(pos) == 3 && (l == "0" || pos[0] == l) && (c == "0" || pos[1] == c) {
			return true
		}
	}
	return false
}
