package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

// childEnv marks the process a supervisor started. Its name does not
// start with NTX_, so a scenario never sees it in env.
const childEnv = "_NTX_SUPERVISED"

// supervised runs a command that executes a scenario (exec, validate)
// in a child process of the same binary and waits for it: a Go fatal
// error (a stack overflow, the runtime out of memory, a corrupted heap)
// cannot be recovered inside the process that has it, and exits with
// status 2, the status of invalid input. The supervisor tells them
// apart: the child writes the runtime's crash report to a pipe as well
// as to stderr (runtime/debug.SetCrashOutput), and the supervisor exits
// with exitFatal and says so in one line that names the cause and the
// file where it kept the report: the child's stderr goes through a
// crashFilter, which holds the report back. Otherwise the child's status
// is the supervisor's. The supervisor forwards SIGINT, SIGTERM and
// SIGHUP to the child, which is in a process group of its own so that
// a terminal's Ctrl-C reaches it once, and the child is killed
// (Pdeathsig) if the supervisor dies, so that it never outlives it.
//
// ok is false when the process is to run the command itself: it is the
// child, the command needs no supervisor, or one cannot be started.
func supervised(args []string, stderr io.Writer) (code int, ok bool) {
	if os.Getenv(childEnv) != "" {
		_ = os.Unsetenv(childEnv)
		crashOutput()
		return 0, false
	}
	if len(args) == 0 || (args[0] != "exec" && args[0] != "validate") || os.Getenv("NTX_SUPERVISOR") == "off" {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	report, crash, err := os.Pipe()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		cmd.Env = append(cmd.Env, stderrTTYEnv+"=1")
	}
	// The child's stderr goes through a crashFilter: the runtime writes
	// its crash report to stderr as well as to the pipe, and the user is
	// to see one line, not thousands of goroutine traces.
	childErr, err := cmd.StderrPipe()
	if err != nil {
		return 0, false
	}
	cmd.ExtraFiles = []*os.File{crash} // fd 3 in the child
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	// Pdeathsig is sent when the thread that started the child ends:
	// this goroutine keeps its thread until the process exits.
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		report.Close()
		crash.Close()
		return 0, false
	}
	crash.Close()
	// What the pipe received tells that the child crashed (its first
	// line may be "runtime stack:", not the cause: the filter has that).
	first := make(chan string, 1)
	go func() {
		var head bytes.Buffer
		_, _ = io.Copy(&limitedBuffer{b: &head, n: 64 << 10}, report)
		report.Close()
		first <- crashSummary(head.String())
	}()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	filter := &crashFilter{w: stderr}
	_, _ = io.Copy(filter, childErr) // until the child, and whatever it started, closed it
	_ = cmd.Wait()
	close(done)
	summary := <-first
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if summary == "" && ws.Signaled() && fatalSignal(ws.Signal()) {
		summary = "killed by " + ws.Signal().String()
	}
	if summary == "" && ws.ExitStatus() == 2 && filter.crashed {
		summary = filter.headline // no crash output: the report on stderr says it
	}
	if summary != "" {
		if filter.headline != "" {
			summary = filter.headline
		}
		where := filter.saveReport()
		fmt.Fprintf(stderr, "ntx: fatal error in ntx itself (%s): exit status %d, not a verdict on the scenario or the target%s; please report it with the scenario\n", summary, exitFatal, where)
		return exitFatal, true
	}
	filter.flush()
	if ws.Signaled() {
		fmt.Fprintf(stderr, "ntx: killed by signal: %s\n", ws.Signal())
		return exitDied, true
	}
	return cmd.ProcessState.ExitCode(), true
}

// crashOutput makes the runtime write its crash report, if one comes, to
// the supervisor's pipe (fd 3) besides stderr.
func crashOutput() {
	f := os.NewFile(3, "crash report")
	if f == nil {
		return
	}
	_ = debug.SetCrashOutput(f, debug.CrashOptions{}) // it keeps a copy of the descriptor
	_ = f.Close()
}

// crashSummary is the line of a crash report that says what it was
// ("fatal error: stack overflow", "panic: ..."); "" for no report.
func crashSummary(report string) string {
	sc := bufio.NewScanner(strings.NewReader(report))
	firstLine := ""
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if firstLine == "" {
			firstLine = line
		}
		if strings.HasPrefix(line, "fatal error: ") || strings.HasPrefix(line, "panic: ") {
			return line
		}
	}
	return firstLine
}

// fatalSignal reports whether a process killed by s crashed (rather
// than being stopped from outside, as the kernel's OOM killer does with
// SIGKILL).
func fatalSignal(s syscall.Signal) bool {
	switch s {
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGABRT, syscall.SIGILL, syscall.SIGFPE, syscall.SIGTRAP, syscall.SIGSYS:
		return true
	}
	return false
}

// limitedBuffer keeps the first n bytes written to it and discards the
// rest, so that the writer is never blocked.
type limitedBuffer struct {
	b *bytes.Buffer
	n int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// maxCrashReport bounds what the supervisor keeps of the runtime's
// report (its goroutine traces can run to megabytes).
const maxCrashReport = 4 << 20

// crashFilter passes the child's stderr through as it comes but holds
// back what looks like the Go runtime's crash report: from a line that
// starts "runtime: ", "fatal error: ", "panic: " or "SIGABRT: " (a
// signal's report) on. Lines that turn out to be ordinary output (no
// goroutine trace follows) are written as soon as that is clear; a real
// report goes to a file (saveReport) and the user sees one line.
type crashFilter struct {
	w        io.Writer
	partial  []byte // the current line, not yet terminated
	held     []byte // from a suspect line on
	heldN    int    // lines held
	crashed  bool   // the held lines are a crash report
	headline string // what it says the cause was: "stack overflow", "panic: boom"
	dropped  int    // bytes past maxCrashReport
}

var crashPrefixes = []string{"fatal error: ", "panic: ", "runtime: ", "SIG"}

func (f *crashFilter) Write(p []byte) (int, error) {
	n := len(p)
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexAny(f.partial, "\n\r")
		if i < 0 {
			break
		}
		f.line(f.partial[:i+1])
		f.partial = f.partial[i+1:]
	}
	// An unterminated fragment (a progress line redrawn with \r) goes out
	// now, unless it may be the start of a suspect line.
	if len(f.partial) > 0 && f.held == nil && !mayStartCrash(f.partial) {
		_, _ = f.w.Write(f.partial)
		f.partial = f.partial[:0]
	}
	if len(f.partial) == 0 {
		f.partial = nil // let the buffer go
	}
	return n, nil
}

// mayStartCrash: b starts like a line of a crash report, or is the start
// of one such beginning.
func mayStartCrash(b []byte) bool {
	for _, p := range crashPrefixes {
		if bytes.HasPrefix(b, []byte(p)) || strings.HasPrefix(p, string(b)) {
			return true
		}
	}
	return false
}

// signalReport: s is the first line of the runtime's report of a signal
// ("SIGABRT: abort", "SIGSEGV: segmentation violation").
func signalReport(s string) bool {
	name, _, ok := strings.Cut(s, ": ")
	if !ok || len(name) < 4 || !strings.HasPrefix(name, "SIG") {
		return false
	}
	for _, r := range name {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func (f *crashFilter) line(l []byte) {
	if f.held == nil {
		if !mayStartCrash(l) {
			_, _ = f.w.Write(l)
			return
		}
		f.held = []byte{}
	}
	if len(f.held) < maxCrashReport {
		f.held = append(f.held, l...)
	} else {
		f.dropped += len(l)
	}
	f.heldN++
	if f.crashed {
		return
	}
	s := strings.TrimRight(string(l), "\r\n")
	switch {
	case strings.HasPrefix(s, "fatal error: "):
		f.crashed, f.headline = true, strings.TrimPrefix(s, "fatal error: ")
	case (strings.HasPrefix(s, "panic: ") || signalReport(s)) && f.headline == "":
		f.headline = s
	case strings.HasPrefix(s, "goroutine ") && f.headline != "":
		f.crashed = true // a panic's or a signal's report
	case f.heldN > 64 || (f.headline == "" && !strings.HasPrefix(s, "runtime: ")):
		// Ordinary lines that happened to start like a report (the
		// runtime's "runtime: " lines come just before "fatal error: ").
		held := f.held
		f.held, f.heldN, f.headline = nil, 0, ""
		_, _ = f.w.Write(held)
	}
}

// flush writes whatever is held back: the child did not crash.
func (f *crashFilter) flush() {
	_, _ = f.w.Write(f.held)
	_, _ = f.w.Write(f.partial)
	f.held, f.partial = nil, nil
}

// saveReport writes the held crash report to a temporary file, for a
// bug report, and returns "; the Go runtime's report is in PATH" or ""
// when there is none or it could not be written.
func (f *crashFilter) saveReport() string {
	report := append(f.held, f.partial...)
	if len(report) == 0 {
		return ""
	}
	tmp, err := os.CreateTemp("", "ntx-fatal-*.txt")
	if err != nil {
		return ""
	}
	_, _ = tmp.Write(report)
	if f.dropped > 0 {
		fmt.Fprintf(tmp, "\n[%d more bytes not kept]\n", f.dropped)
	}
	if tmp.Close() != nil {
		return ""
	}
	return "; the Go runtime's report is in " + tmp.Name()
}
