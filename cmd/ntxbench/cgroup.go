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
	"syscall"
	"time"
)

// usage is what one tool's run cost the machine: CPU seconds of every
// process it started (its children too) and the peak of their summed
// resident memory.
type usage struct {
	CPU        float64 // seconds, user + system
	PeakRSSKiB int64
	Wall       float64 // seconds
	TimedOut   bool
}

// meter runs commands each in a cgroup of its own when it can: cgroup
// v2's cpu.stat counts every process of the group, children included,
// even those that exited without being waited for (Locust's workers,
// Tsung's Erlang VM, vegeta behind a shell). Without a writable cgroup v2
// hierarchy it falls back to getrusage of the waited children, which
// misses a grandchild its parent did not wait for.
type meter struct {
	dir      string // where the groups are made; "" for the fallback
	fallback string // why there are no cgroups
	noClone3 bool   // CLONE_INTO_CGROUP failed: move pids in after start
	seq      int
}

// newMeter finds this process's cgroup v2 directory (on a pure v2
// machine, /sys/fs/cgroup; on a hybrid one, the unified mount) and checks
// that a child group can be made there and a process started in it.
func newMeter() *meter {
	m := &meter{}
	dir, err := ownCgroup2()
	if err == nil {
		m.dir = dir
		g, gerr := m.group("probe")
		if gerr == nil {
			c := exec.Command("true")
			if g.start(c) != nil {
				m.noClone3, g.noClone3 = true, true
				c = exec.Command("true")
				err = g.start(c)
			}
			if err == nil {
				err = c.Wait()
			}
			if err == nil {
				_, err = g.cpu()
			}
			g.remove()
		} else {
			err = gerr
		}
	}
	if err != nil {
		m.dir, m.fallback = "", err.Error()
	}
	return m
}

// ownCgroup2 is the directory of the cgroup v2 group this process is in.
func ownCgroup2() (string, error) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	var mnt string
	for _, line := range strings.Split(string(mounts), "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS
		pre, post, found := strings.Cut(line, " - ")
		if !found || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(pre); len(f) >= 5 {
			mnt = f[4]
			break
		}
	}
	if mnt == "" {
		return "", errors.New("no cgroup v2 hierarchy is mounted")
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(self), "\n") {
		if p, found := strings.CutPrefix(line, "0::"); found {
			return filepath.Join(mnt, p), nil
		}
	}
	return "", errors.New("this process is in no cgroup v2 group")
}

// group is one cgroup v2 group, or in the fallback a record of one
// process group.
type group struct {
	dir      string
	noClone3 bool
}

func (m *meter) group(name string) (*group, error) {
	if m.dir == "" {
		return &group{}, nil
	}
	m.seq++
	dir := filepath.Join(m.dir, fmt.Sprintf("ntxbench-%d-%d-%s", os.Getpid(), m.seq, name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("making a cgroup: %w", err)
	}
	return &group{dir: dir, noClone3: m.noClone3}, nil
}

// start starts c inside the group: atomically with clone3's
// CLONE_INTO_CGROUP where the kernel has it, else by moving the pid in at
// once (its first instants then count to ntxbench's group).
func (g *group) start(c *exec.Cmd) error {
	if c.SysProcAttr == nil {
		c.SysProcAttr = &syscall.SysProcAttr{}
	}
	c.SysProcAttr.Setpgid = true
	if g.dir == "" {
		return c.Start()
	}
	if !g.noClone3 {
		fd, err := syscall.Open(g.dir, syscall.O_DIRECTORY|syscall.O_RDONLY, 0)
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		c.SysProcAttr.UseCgroupFD, c.SysProcAttr.CgroupFD = true, fd
		return c.Start()
	}
	if err := c.Start(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(g.dir, "cgroup.procs"), []byte(strconv.Itoa(c.Process.Pid)), 0); err != nil {
		c.Process.Kill()
		c.Wait()
		return fmt.Errorf("moving pid %d into %s: %w", c.Process.Pid, g.dir, err)
	}
	return nil
}

// cpu is the group's CPU time so far, in seconds.
func (g *group) cpu() (float64, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "cpu.stat"))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, found := strings.CutPrefix(line, "usage_usec "); found {
			us, err := strconv.ParseInt(v, 10, 64)
			return float64(us) / 1e6, err
		}
	}
	return 0, errors.New("cpu.stat has no usage_usec")
}

// pids lists the processes in the group.
func (g *group) pids() []int {
	b, _ := os.ReadFile(filepath.Join(g.dir, "cgroup.procs"))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// kill ends every process in the group and waits (a little) until none
// is left, so that the group can be removed.
func (g *group) kill() {
	if g.dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(g.dir, "cgroup.kill"), []byte("1"), 0); err != nil {
		for _, p := range g.pids() {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	for i := 0; i < 100 && len(g.pids()) > 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *group) remove() {
	if g.dir != "" {
		g.kill()
		os.Remove(g.dir)
	}
}

// rssKiB is the resident memory of pid, from /proc.
func rssKiB(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, found := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); found {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// run starts c in a new group, samples the group's summed RSS every
// 100 ms while it runs, kills everything left of it after timeout, and
// returns its cost. The group is removed afterwards.
func (m *meter) run(name string, c *exec.Cmd, timeout time.Duration) (usage, error) {
	var u usage
	g, err := m.group(name)
	if err != nil {
		return u, err
	}
	defer g.remove()
	start := time.Now()
	if err := g.start(c); err != nil {
		return u, err
	}
	var mu sync.Mutex
	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			var sum int64
			if g.dir != "" {
				for _, p := range g.pids() {
					sum += rssKiB(p)
				}
			} else {
				sum = rssKiB(c.Process.Pid)
			}
			mu.Lock()
			peak = max(peak, sum)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	timer := time.AfterFunc(timeout, func() {
		mu.Lock()
		u.TimedOut = true
		mu.Unlock()
		if g.dir != "" {
			g.kill()
		} else {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	})
	werr := c.Wait()
	timer.Stop()
	u.Wall = time.Since(start).Seconds()
	close(stop)
	<-sampled
	// What the tool left running (a worker, a VM) counts until it is gone.
	if g.dir != "" {
		g.kill()
		if u.CPU, err = g.cpu(); err != nil {
			return u, err
		}
	} else {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		ru := c.ProcessState.SysUsage().(*syscall.Rusage)
		u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	mu.Lock()
	defer mu.Unlock()
	u.PeakRSSKiB = peak
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.PeakRSSKiB = max(u.PeakRSSKiB, ru.Maxrss)
	}
	if u.TimedOut {
		return u, fmt.Errorf("killed after %s", timeout)
	}
	return u, werr
}
