//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childOf waits for the process whose parent is pid (the supervisor's
// child) and returns its pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			n, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if ppid, _ := procState(n); ppid == pid {
				return n
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d started no child", pid)
	return 0
}

// procState is a process's parent and state (R, S, Z...); 0 and "" when
// it is gone.
func procState(pid int) (ppid int, state string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, ""
	}
	// pid (comm) state ppid ...: comm may hold spaces, not ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 2 {
		return 0, ""
	}
	ppid, _ = strconv.Atoi(f[1])
	return ppid, f[0]
}

// TestSupervisorMapsAFatalErrorToExit4: `ntx exec` runs the scenario in
// a child process. When the child dies of a Go fatal error (here the
// runtime's own crash on SIGABRT, which writes the crash report as a
// stack overflow would), the command exits 4 with one line that says
// so, never 2 (invalid input). When the supervisor is killed, its child
// dies with it (Pdeathsig), so that a killed segment of a fleet does not
// go on sending load.
func TestSupervisorMapsAFatalErrorToExit4(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the ntx binary")
	}
	srv := startTarget(t)
	file := filepath.Join(t.TempDir(), "sleep.star")
	src := "def flow(user):\n    http.get(\"http://\" + env.NTX_TARGET_HTTP + \"/asset\")\n    sleep(\"60s\")\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// running is the child, once its flow runs: past its start, when
	// it set the runtime's crash output.
	running := func(p *segmentProc, calls int) int {
		t.Helper()
		child := childOf(t, p.cmd.Process.Pid)
		for len(srv.Seen()) < calls {
			select {
			case <-p.done:
				t.Fatalf("ntx exited %d\n%s", p.code, p.stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		return child
	}
	p := startSegment(t, 0, 1, "-q", file)
	child := running(p, 1)
	if err := syscall.Kill(child, syscall.SIGABRT); err != nil {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/cmdline")
		t.Fatalf("%d (%q) of %d: %v\n%s", child, b, p.cmd.Process.Pid, err, p.stderr.String())
	}
	if code := p.wait(t, 60*time.Second); code != exitFatal {
		t.Errorf("exit %d, want %d\n%s", code, exitFatal, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "ntx: fatal error in ntx itself (SIGABRT: abort): exit status 4, not a verdict on the scenario") {
		t.Errorf("stderr:\n%s", p.stderr.String())
	}
	// The runtime's report is in a file, not on stderr.
	if strings.Contains(p.stderr.String(), "goroutine ") {
		t.Errorf("the runtime's report reached stderr:\n%s", p.stderr.String())
	}
	if _, file, ok := strings.Cut(p.stderr.String(), "the Go runtime's report is in "); !ok {
		t.Errorf("no report file named:\n%s", p.stderr.String())
	} else {
		file, _, _ = strings.Cut(file, ";")
		b, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(b), "goroutine ") {
			t.Errorf("the report file %s: %v\n%s", file, err, b)
		}
		os.Remove(file)
	}

	p = startSegment(t, 0, 1, "-q", file)
	child = running(p, 2)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 60*time.Second)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ppid, state := procState(child)
		if state == "" || state == "Z" || ppid != p.cmd.Process.Pid && state == "X" {
			break // gone, or dead and not yet reaped by its new parent
		}
		if time.Now().After(deadline) {
			t.Fatalf("the child %d of a killed supervisor is still running (state %s)", child, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrashFilter: the child's stderr passes through as it comes (a
// progress line redrawn with \r at once, a line that only starts like
// the runtime's report once the next line shows it is not one), and a
// Go crash report is held back and its cause recognised.
func TestCrashFilter(t *testing.T) {
	var out bytes.Buffer
	f := &crashFilter{w: &out}
	f.Write([]byte("\r\x1b[Kelapsed 1s"))
	if out.String() != "\r\x1b[Kelapsed 1s" {
		t.Fatalf("a progress fragment was held: %q", out.String())
	}
	f.Write([]byte("\nruntime: is what my log says\nnext line\npani"))
	if want := "\r\x1b[Kelapsed 1s\nruntime: is what my log says\nnext line\n"; out.String() != want || f.crashed {
		t.Fatalf("output %q, want %q (crashed %v)", out.String(), want, f.crashed)
	}
	f.Write([]byte("c: boom\n\ngoroutine 7 [running]:\nmain.f()\n"))
	if !f.crashed || f.headline != "panic: boom" || strings.Contains(out.String(), "boom") {
		t.Fatalf("crashed %v, headline %q, output %q", f.crashed, f.headline, out.String())
	}

	// A stack overflow: the cause is "stack overflow", not the first
	// line of the report nor "runtime stack:".
	out.Reset()
	f = &crashFilter{w: &out}
	f.Write([]byte("runtime: goroutine stack exceeds 16777216-byte limit\nruntime: sp=0x1 stack=[0x1, 0x2]\nfatal error: stack overflow\n\nruntime stack:\n"))
	if !f.crashed || f.headline != "stack overflow" || out.Len() != 0 {
		t.Fatalf("crashed %v, headline %q, output %q", f.crashed, f.headline, out.String())
	}

	out.Reset()
	f = &crashFilter{w: &out}
	f.Write([]byte("SIGABRT: abort\nPC=0x1 m=0 sigcode=0\n\ngoroutine 1 [running]:\n"))
	if !f.crashed || f.headline != "SIGABRT: abort" || out.Len() != 0 {
		t.Fatalf("crashed %v, headline %q, output %q", f.crashed, f.headline, out.String())
	}

	out.Reset()
	f = &crashFilter{w: &out}
	f.Write([]byte("SIGTERM received, stopping\npanic: is a word a scenario may log\nand then more\n"))
	f.flush()
	if out.String() != "SIGTERM received, stopping\npanic: is a word a scenario may log\nand then more\n" || f.crashed {
		t.Fatalf("output %q, crashed %v", out.String(), f.crashed)
	}
}
