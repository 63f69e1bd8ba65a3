package main

import (
	"fmt"
	"io"

	"github.com/ntx-dev/ntx/engine"
)

// cmdReport shows a saved result (ntx exec --out, or ntx merge --out):
// without --html, the text summary a run prints at its end; with --html,
// the HTML report --report writes, from the same data, so that a run
// saved as JSON can be looked at, or shared, later.
func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("report", "RESULT.json [--html FILE.html]", "Shows a result written by 'ntx exec --out' or 'ntx merge --out' (one run or a merged\nfleet): prints its summary, as at the end of a run, or with --html writes the\nself-contained HTML report that --report writes.", stderr)
	htmlOut := fs.String("html", "", "write the HTML report to `FILE.html` instead of printing the summary")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "ntx report: want exactly one result file, got %d arguments\n", fs.NArg())
		fs.Usage()
		return exitInvalid
	}
	if *htmlOut == "" {
		r, err := readResult(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "ntx report: %v\n", err)
			return exitInvalid
		}
		r.WriteSummary(stdout)
		return exitPassed
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
