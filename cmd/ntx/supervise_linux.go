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
// with exitFatal and says so in one line. Otherwise the child's status
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
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), childEnv+"=1")
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
	// The first lines of a crash report say what it was; the rest (the
	// goroutines) is on stderr already.
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
	_ = cmd.Wait()
	close(done)
	summary := <-first
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if summary == "" && ws.Signaled() && fatalSignal(ws.Signal()) {
		summary = "killed by " + ws.Signal().String()
	}
	if summary != "" {
		fmt.Fprintf(stderr, "ntx: fatal error in ntx itself (%s): exit status %d, not a verdict on the scenario or the target; please report it with the scenario\n", summary, exitFatal)
		return exitFatal, true
	}
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
