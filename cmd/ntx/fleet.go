package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/fleet"
	"github.com/ntx-dev/ntx/engine/report"
	"github.com/ntx-dev/ntx/engine/schedule"
)

// segmentFlag reads --segment I/N. An empty I ("/4") is read from
// JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod.
func segmentFlag(s string) (schedule.Segment, error) {
	if s == "" {
		return schedule.Segment{}, nil
	}
	if strings.HasPrefix(s, "/") {
		idx, ok := os.LookupEnv("JOB_COMPLETION_INDEX")
		if !ok {
			return schedule.Segment{}, fmt.Errorf("--segment %s takes I from JOB_COMPLETION_INDEX, which is not set (give --segment I%s)", s, s)
		}
		s = strings.TrimSpace(idx) + s
	}
	return schedule.ParseSegment(s)
}

// startAtFlag reads --start-at: an RFC 3339 time, or +DURATION from now.
func startAtFlag(s string, now time.Time) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("--start-at %s: want +DURATION (e.g. +30s) or an RFC 3339 time", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at %s: want an RFC 3339 time (e.g. 2026-11-27T10:00:00Z) or +DURATION (e.g. +30s)", s)
	}
	return t, nil
}

func cmdMerge(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("merge", "PART.json... [--out M.json] [--report M.html]", "Merges the JSON results of a fleet's segments (ntx exec --segment I/N --out PART.json)\ninto one: counters added, latency histograms merged (percentiles from the merged\nhistograms), thresholds judged on the merge. Exit codes as for exec; 3 when a\nsegment's result is missing.", stderr)
	out := fs.String("out", "", "write the merged result as JSON to `FILE.json`")
	htmlOut := fs.String("report", "", "write a self-contained HTML report of the merge to `FILE.html`")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "ntx merge: want one or more result files (PART.json...)")
		fs.Usage()
		return exitInvalid
	}
	if err := engine.CheckOutputs(fs.Args(), engine.Output{Flag: "--out", Path: *out}, engine.Output{Flag: "--report", Path: *htmlOut}); err != nil {
		fmt.Fprintf(stderr, "ntx merge: %v\n", err)
		return exitInvalid
	}
	var parts []*report.Result
	for _, file := range fs.Args() {
		r, err := readResult(file)
		if err != nil {
			fmt.Fprintf(stderr, "ntx merge: %v\n", err)
			return exitInvalid
		}
		parts = append(parts, r)
	}
	m, err := fleet.Merge(parts)
	if err != nil {
		fmt.Fprintf(stderr, "ntx merge: %v\n", err)
		return exitInvalid
	}
	return finishFleet(m, *out, *htmlOut, "merge", stdout, stderr)
}

// finishFleet prints a fleet's merged result, writes its files and
// returns the exit code: 3 when incomplete, else the verdict's.
func finishFleet(m *report.Result, out, htmlOut, cmd string, stdout, stderr io.Writer) int {
	m.WriteSummary(stdout)
	code := exitPassed
	if !m.Passed {
		code = exitFailed
	}
	if m.Incomplete {
		code = exitDied
	}
	for _, w := range []struct {
		flag, path string
		write      func(io.Writer) error
	}{{"--out", out, m.WriteJSON}, {"--report", htmlOut, m.WriteHTML}} {
		if w.path == "" {
			continue
		}
		if err := engine.WriteFile(w.path, w.write); err != nil {
			fmt.Fprintf(stderr, "ntx %s: %s %s: %v\n", cmd, w.flag, w.path, err)
			code = exitDied
		}
	}
	return code
}

// readResult reads a JSON result written by --out.
func readResult(file string) (*report.Result, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r report.Result
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: not a result of ntx exec --out: %v", file, err)
	}
	return &r, nil
}
