package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ntx-dev/ntx/engine"
)

// plainEvery is how often progress is printed when stderr is not a
// terminal (a CI log): a line every few seconds, not a redraw a second.
const plainEvery = 5 * time.Second

// progressPrinter shows a run's progress on stderr: redrawn in place on a
// terminal, a plain line every few seconds otherwise.
type progressPrinter struct {
	w        io.Writer
	terminal bool
	last     time.Duration
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
		// A supervised child's stderr is a pipe to the supervisor, whose
		// stderr is the terminal.
		if f == os.Stderr && os.Getenv(stderrTTYEnv) == "1" {
			p.terminal = true
		}
	}
	return p
}

func (p *progressPrinter) update(pr engine.Progress) {
	line := formatProgress(pr)
	switch {
	case p.terminal && pr.Final:
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", line)
	case p.terminal:
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	case pr.Final || pr.Elapsed-p.last >= plainEvery:
		p.last = pr.Elapsed
		fmt.Fprintln(p.w, line)
	}
}

func formatProgress(pr engine.Progress) string {
	clock := pr.Elapsed.Round(time.Second).String()
	if pr.Remaining > 0 {
		clock += fmt.Sprintf(" (%s left)", pr.Remaining.Round(time.Second))
	}
	state := "running"
	if pr.Final {
		state = "done"
	}
	return fmt.Sprintf("%s %s  users %d  iterations %d  %.0f req/s  requests %d  errors %d",
		state, clock, pr.Active, pr.Iterations, pr.RPS, pr.Requests, pr.Errors)
}
