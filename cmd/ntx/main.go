// Command ntx runs network load scenarios written in YAML or Starlark.
//
//	ntx exec scenario.yaml       run a scenario and print its summary
//	ntx validate FILE...         check scenarios, run nothing
//	ntx compile scenario.yaml    print the Starlark program a YAML compiles to
//	ntx serve                    start the built-in demo target on loopback
//	ntx merge PART.json...       merge the results of a fleet's segments
//	ntx kube FILE --segments N   print the Kubernetes manifests of a fleet
//	ntx report R.json --html F   render a saved result as the HTML report
//	ntx schema                   print the JSON Schema of the YAML language
//	ntx version, ntx --version   print the version
//
// Exit codes: 0 passed, 1 a threshold or check failed, 2 invalid input,
// 3 the run could not start or died, 4 a Go fatal error in ntx itself.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/ntx-dev/ntx/engine/transport"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes (spec §1).
const (
	exitPassed  = 0
	exitFailed  = 1
	exitInvalid = 2
	exitDied    = 3
	// exitFatal is a Go fatal error in ntx itself (see supervised).
	exitFatal = 4
)

// stderrTTYEnv tells a supervised child that the supervisor's stderr is
// a terminal (its own is a pipe to the supervisor), so that the progress
// line is redrawn in place.
const stderrTTYEnv = "_NTX_STDERR_TTY"

func main() {
	transport.UserAgent = "ntx/" + version // sent with every HTTP request
	if code, ok := supervised(os.Args[1:], os.Stderr); ok {
		os.Exit(code)
	}
	// A goroutine's stack is bounded at 16 MiB, not Go's 1 GB: what ntx
	// cannot bound (go.starlark.net hashing a tuple nested a million
	// deep) overflows it in moments, not after minutes and a gigabyte,
	// and the supervisor reports exit 4.
	debug.SetMaxStack(16 << 20)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `ntx runs network load scenarios written in YAML or Starlark.

Usage:
  ntx exec FILE          run a scenario (.yaml, .yml or .star)
  ntx validate FILE...   check scenarios and print every problem
  ntx compile FILE       print the Starlark program a YAML scenario compiles to
  ntx serve              start the built-in demo target on loopback
  ntx merge PART.json... merge the results of a fleet's segments into one
  ntx kube FILE          print the Kubernetes manifests that run FILE as a fleet
  ntx addresses FILE     print the pool addresses a segment's host must be given
  ntx report RESULT.json print a saved result's summary (a run or a merge);
                         --html FILE.html renders its HTML report instead
  ntx schema             print the JSON Schema of the YAML language, for editors
  ntx version            print the version (also ntx --version)

Run 'ntx COMMAND --help' for a command's flags.
`

// run is main without the process: it returns the exit code, so tests
// can drive the CLI in-process.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		// A safety net: no input may make ntx print a Go stack trace.
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "ntx: internal error: %v (please report this with the scenario that caused it)\n", r)
			code = exitDied
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitInvalid
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "exec":
		return cmdExec(rest, stdout, stderr)
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "compile":
		return cmdCompile(rest, stdout, stderr)
	case "serve":
		return cmdServe(rest, stdout, stderr)
	case "merge":
		return cmdMerge(rest, stdout, stderr)
	case "kube":
		return cmdKube(rest, stdout, stderr)
	case "addresses":
		return cmdAddresses(rest, stdout, stderr)
	case "report":
		return cmdReport(rest, stdout, stderr)
	case "schema":
		return cmdSchema(rest, stdout, stderr)
	case "version", "--version":
		return cmdVersion(rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitPassed
	}
	fmt.Fprintf(stderr, "ntx: unknown command %q\n\n%s", cmd, usage)
	return exitInvalid
}
