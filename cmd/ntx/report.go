package main

import (
	"fmt"
	"io"

	"github.com/ntx-dev/ntx/engine"
)

// cmdReport renders a saved result (ntx exec --out, or ntx merge --out)
// to the HTML report --report writes: the same page from the same data,
// so that a run saved as JSON can be looked at, or shared, later.
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report", "RESULT.json --html FILE.html", "Renders a result written by 'ntx exec --out' or 'ntx merge --out' (one run or a merged\nfleet) to the self-contained HTML report that --report writes.", stderr)
	htmlOut := fs.String("html", "", "write the HTML report to `FILE.html` (required)")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "ntx report: want exactly one result file, got %d arguments\n", fs.NArg())
		fs.Usage()
		return exitInvalid
	}
	if *htmlOut == "" {
		fmt.Fprintln(stderr, "ntx report: --html FILE.html is required")
		return exitInvalid
	}
	file := fs.Arg(0)
	if err := engine.CheckOutputs([]string{file}, engine.Output{Flag: "--html", Path: *htmlOut}); err != nil {
		fmt.Fprintf(stderr, "ntx report: %v\n", err)
		return exitInvalid
	}
	r, err := readResult(file)
	if err != nil {
		fmt.Fprintf(stderr, "ntx report: %v\n", err)
		return exitInvalid
	}
	if err := engine.WriteFile(*htmlOut, r.WriteHTML); err != nil {
		fmt.Fprintf(stderr, "ntx report: --html %s: %v\n", *htmlOut, err)
		return exitDied
	}
	fmt.Fprintf(stdout, "%s: report of %q written to %s\n", file, r.Scenario, *htmlOut)
	return exitPassed
}
