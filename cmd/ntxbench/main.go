// Command ntxbench runs the side-by-side benchmark behind `make bench`
// (docs/benchmarks.md): nginx on loopback as the target, and every
// installed load generator on the same workloads, in interleaved rounds.
//
// Round r runs every tool once on each workload, in an order rotated by
// r, so that no tool always runs first or always after the heaviest.
// Each run is measured in a cgroup of its own (CPU seconds of all its
// processes, peak of their summed RSS); nginx's own CPU is read for
// each run too. Requests/s and p50/p99 are as each tool reports them.
// The ratio of ntx to a tool is taken within each round, then the
// median of those ratios is reported with their min and max.
//
// After the rounds: ntx's memory per user at 10,000 and 18,000 users
// bound to their own addresses and holding their connections, and at
// 100,000 users that hold none while thinking; then a CPU and allocation
// profile of ntx on the one-GET workload, grouped by where the time goes.
//
// k6 is not run: it is under the AGPL, which this project does not build.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// run is one tool's run of one workload in one round.
type run struct {
	Workload string `json:"workload"`
	Tool     string `json:"tool"`
	Round    int    `json:"round"`
	Order    int    `json:"order"` // its place in the round's order for this workload
	measured
	CPU        float64 `json:"cpu_s"`
	CPUPerReq  float64 `json:"cpu_us_per_request"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	NginxCPU   float64 `json:"nginx_cpu_s"`
	Wall       float64 `json:"wall_s"`
	Err        string  `json:"error,omitempty"`
}

func (r run) ok() bool { return r.Err == "" && r.RPS > 0 }

type settings struct {
	ntx, bin, dir, out string
	rounds             int
	duration           time.Duration
	tools              map[string]bool
	workloads          []string
	memory             []int
	profile            bool
	pause              time.Duration
}

func main() {
	var s settings
	var toolList, workloadList, memList string
	flag.StringVar(&s.ntx, "ntx", "bin/ntx", "the ntx binary")
	flag.StringVar(&s.bin, "bin", "bin", "where make bench installed hey, vegeta, bombardier and npm/")
	flag.StringVar(&s.dir, "dir", "scripts/bench", "where nginx.conf and the ntx scenarios are")
	flag.StringVar(&s.out, "out", "bin/bench", "where results.json, results.md, the profiles and each run's files go")
	flag.IntVar(&s.rounds, "rounds", 3, "rounds: each runs every tool once on every workload")
	flag.DurationVar(&s.duration, "duration", 10*time.Second, "how long each run lasts (whole seconds)")
	flag.StringVar(&toolList, "tools", "all", "comma-separated tools to run: "+toolNames())
	flag.StringVar(&workloadList, "workloads", "all", "comma-separated workloads: "+workloadNames()+",memory")
	flag.StringVar(&memList, "memory-users", "10000,18000,100000", "user counts for the memory workload: 10000 and 18000 bound users holding their connections, 100000 holding none")
	flag.BoolVar(&s.profile, "profile", true, "profile ntx on the one-GET workload after the rounds")
	flag.DurationVar(&s.pause, "pause", time.Second, "pause between runs (connections in TIME_WAIT, nginx settling)")
	groupOnly := flag.String("group-profile", "", "only print the groups (syscalls, Starlark, metrics...) of this Go CPU `profile` of ntx, and exit")
	flag.Parse()
	if *groupOnly != "" {
		if err := printGroups(*groupOnly); err != nil {
			fmt.Fprintln(os.Stderr, "ntxbench:", err)
			os.Exit(1)
		}
		return
	}
	if err := s.parseLists(toolList, workloadList, memList); err != nil {
		fmt.Fprintln(os.Stderr, "ntxbench:", err)
		os.Exit(2)
	}
	if err := benchmark(s); err != nil {
		fmt.Fprintln(os.Stderr, "ntxbench:", err)
		os.Exit(1)
	}
}

func toolNames() string {
	var n []string
	for _, t := range tools {
		n = append(n, t.Name)
	}
	return strings.Join(n, ",")
}

func workloadNames() string {
	var n []string
	for _, w := range workloads {
		n = append(n, w.ID)
	}
	return strings.Join(n, ",")
}

func (s *settings) parseLists(toolList, workloadList, memList string) error {
	if s.rounds < 1 || s.duration < time.Second {
		return fmt.Errorf("--rounds must be at least 1 and --duration at least 1s")
	}
	s.tools = map[string]bool{}
	for _, n := range strings.Split(toolList, ",") {
		n = strings.TrimSpace(n)
		if n == "all" {
			for _, t := range tools {
				s.tools[t.Name] = true
			}
			continue
		}
		if _, ok := toolByName(n); !ok {
			return fmt.Errorf("--tools: no tool %q (have %s)", n, toolNames())
		}
		s.tools[n] = true
	}
	for _, n := range strings.Split(workloadList, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "all":
			for _, w := range workloads {
				s.workloads = append(s.workloads, w.ID)
			}
			s.workloads = append(s.workloads, "memory")
		case n == "memory":
			s.workloads = append(s.workloads, n)
		default:
			if _, ok := workloadByID(n); !ok {
				return fmt.Errorf("--workloads: no workload %q (have %s,memory)", n, workloadNames())
			}
			s.workloads = append(s.workloads, n)
		}
	}
	for _, n := range strings.Split(memList, ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		u, err := strconv.Atoi(n)
		if err != nil || u < 2 {
			return fmt.Errorf("--memory-users: %q is not a count of users", n)
		}
		s.memory = append(s.memory, u)
	}
	return nil
}

func (s settings) has(workload string) bool {
	for _, w := range s.workloads {
		if w == workload {
			return true
		}
	}
	return false
}

// report is everything one `make bench` measured, as results.json.
type report struct {
	Date      string            `json:"date"`
	Machine   machine           `json:"machine"`
	Versions  map[string]string `json:"versions"`
	Rounds    int               `json:"rounds"`
	Duration  string            `json:"duration"`
	CPUMethod string            `json:"cpu_method"`
	Workloads []workload        `json:"workloads"`
	Commands  map[string]string `json:"commands"` // "workload/tool": the command line of its first run
	Skipped   map[string]string `json:"skipped"`  // tool: why
	Runs      []run             `json:"runs"`
	Summary   []row             `json:"summary"`
	Goals     []goal            `json:"goals"`
	Memory    []memoryRun       `json:"memory,omitempty"`
	Profile   *profile          `json:"profile,omitempty"`
}

type machine struct {
	Cores   int    `json:"cores"`
	CPU     string `json:"cpu"`
	Kernel  string `json:"kernel"`
	Go      string `json:"go"`
	LoadAvg string `json:"load_average_at_start"`
}

func benchmark(s settings) error {
	abs := func(p *string) error {
		a, err := filepath.Abs(*p)
		*p = a
		return err
	}
	for _, p := range []*string{&s.ntx, &s.bin, &s.dir, &s.out} {
		if err := abs(p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}
	m := newMeter()
	rep := &report{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Machine:   readMachine(),
		Rounds:    s.rounds,
		Duration:  s.duration.String(),
		Commands:  map[string]string{},
		Skipped:   map[string]string{},
		CPUMethod: "cgroup v2 cpu.stat usage_usec of a group made for each run (every process the tool started)",
	}
	if m.dir == "" {
		rep.CPUMethod = "getrusage of the waited children (no writable cgroup v2 hierarchy: " + m.fallback + "); a grandchild its parent did not wait for is missed"
	}
	fmt.Fprintf(os.Stderr, "ntxbench: CPU measured by %s\n", rep.CPUMethod)
	fmt.Fprintf(os.Stderr, "ntxbench: %d cores, %s, load average %s\n", rep.Machine.Cores, rep.Machine.CPU, rep.Machine.LoadAvg)

	e := &env{dir: s.dir, bin: s.bin, ntx: s.ntx, secs: int(s.duration.Round(time.Second).Seconds()), cores: runtime.NumCPU()}
	// Which tools run, and why the others do not.
	type ready struct {
		tool
		path string
	}
	var avail []ready
	for _, t := range tools {
		if !s.tools[t.Name] {
			continue
		}
		p, why := t.find(e)
		if why != "" {
			if note, err := os.ReadFile(filepath.Join(s.out, "skipped", t.Name)); err == nil {
				why = strings.TrimSpace(string(note))
			}
			rep.Skipped[t.Name] = why
			fmt.Fprintf(os.Stderr, "ntxbench: skipping %s: %s\n", t.Name, why)
			continue
		}
		avail = append(avail, ready{t, p})
	}
	rep.Versions = versions(e)
	for _, id := range s.workloads {
		if w, ok := workloadByID(id); ok {
			rep.Workloads = append(rep.Workloads, w)
		}
	}

	var stopping atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		stopping.Store(true)
		fmt.Fprintln(os.Stderr, "ntxbench: stopping after this run (results so far are kept)")
	}()

	nginx, err := startNginx(m, filepath.Join(s.dir, "nginx.conf"))
	if err != nil {
		return err
	}
	defer nginx.stop()

	// The plan: per round, per workload, the tools that can do it, rotated.
	type step struct {
		w     workload
		t     ready
		round int
		order int
	}
	var plan []step
	probe, err := os.MkdirTemp("", "ntxbench-plan")
	if err != nil {
		return err
	}
	defer os.RemoveAll(probe)
	for r := 0; r < s.rounds; r++ {
		for _, w := range rep.Workloads {
			var ts []ready
			for _, t := range avail {
				if t.build(&env{dir: e.dir, bin: e.bin, ntx: e.ntx, scratch: probe, secs: e.secs, cores: e.cores}, t.path, w) != nil {
					ts = append(ts, t)
				}
			}
			for i, t := range rotate(ts, r) {
				plan = append(plan, step{w, t, r + 1, i + 1})
			}
		}
	}
	est := time.Duration(len(plan)) * (s.duration + s.pause + 2*time.Second)
	if s.has("memory") {
		est += time.Duration(len(s.memory)) * 50 * time.Second
	}
	fmt.Fprintf(os.Stderr, "ntxbench: %d runs of %s in %d rounds; about %s in all\n", len(plan), s.duration, s.rounds, est.Round(time.Minute))

	for i, st := range plan {
		if stopping.Load() {
			break
		}
		scratch := filepath.Join(s.out, "runs", fmt.Sprintf("r%d-%s-%s", st.round, st.w.ID, st.t.Name))
		os.RemoveAll(scratch)
		if err := os.MkdirAll(scratch, 0o755); err != nil {
			return err
		}
		re := *e
		re.scratch = scratch
		iv := st.t.build(&re, st.t.path, st.w)
		key := st.w.ID + "/" + st.t.Name
		if _, seen := rep.Commands[key]; !seen {
			rep.Commands[key] = iv.commandLine()
		}
		r := runOnce(m, nginx, iv, scratch, s.duration)
		r.Workload, r.Tool, r.Round, r.Order = st.w.ID, st.t.Name, st.round, st.order
		rep.Runs = append(rep.Runs, r)
		status := fmt.Sprintf("%9.0f req/s  p99 %s ms  CPU %5.1f s (%5.1f µs/req)  RSS %6.1f MiB  nginx CPU %4.1f s",
			r.RPS, fmtOpt(r.P99, 2), r.CPU, r.CPUPerReq, r.PeakRSSMiB, r.NginxCPU)
		if r.Err != "" {
			status = "failed: " + firstLine(r.Err)
		} else if r.Errors > 0 {
			status += fmt.Sprintf("  %d errors", r.Errors)
		}
		fmt.Fprintf(os.Stderr, "[%3d/%d] round %d %-9s %-11s %s\n", i+1, len(plan), st.round, st.w.ID, st.t.Name, status)
		time.Sleep(s.pause)
	}
	rep.Summary = summarize(rep.Workloads, rep.Runs)
	rep.Goals = goals(rep.Summary, nil)

	if s.has("memory") && !stopping.Load() {
		if _, why := ntxFind(e); why == "" {
			rep.Memory = memoryRuns(m, e, s.out, s.memory, &stopping)
			rep.Goals = goals(rep.Summary, rep.Memory)
		}
	}
	if s.profile && !stopping.Load() && s.has("get50") {
		p, err := profileNTX(e, s.out, s.duration)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ntxbench: profile:", err)
		} else {
			rep.Profile = p
		}
	}

	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	jsonPath := filepath.Join(s.out, "results.json")
	if err := os.WriteFile(jsonPath, b, 0o644); err != nil {
		return err
	}
	md := markdown(rep)
	mdPath := filepath.Join(s.out, "results.md")
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	fmt.Fprintf(os.Stderr, "ntxbench: wrote %s and %s\n", jsonPath, mdPath)
	return nil
}

// runOnce runs one invocation in its own cgroup and reads its report.
func runOnce(m *meter, nginx *target, iv *invocation, scratch string, d time.Duration) run {
	var r run
	r.measured = newMeasured()
	stdout, err := os.Create(filepath.Join(scratch, "stdout"))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(scratch, "stderr"))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer stderr.Close()
	c := iv.command()
	c.Dir = scratch
	c.Stdout, c.Stderr = stdout, stderr
	before := nginx.cpu()
	// Room for slow starters (Artillery and Tsung take seconds to start
	// on a busy machine) and for ntx's graceful stop.
	u, runErr := m.run("tool", c, d+90*time.Second)
	r.NginxCPU = nginx.cpu() - before
	r.CPU, r.Wall, r.PeakRSSMiB = u.CPU, u.Wall, float64(u.PeakRSSKiB)/1024
	out, _ := os.ReadFile(stdout.Name())
	got, perr := iv.parse(string(out))
	got.RPS = finite(got.RPS)
	r.measured = got
	if perr != nil {
		errOut, _ := os.ReadFile(stderr.Name())
		msg := perr.Error()
		if runErr != nil {
			msg = runErr.Error() + "; " + msg
		}
		r.Err = msg + ": " + tail(string(out)+string(errOut), 400)
	} else if runErr != nil && u.TimedOut {
		r.Err = runErr.Error()
	}
	if r.Requests > 0 {
		r.CPUPerReq = r.CPU / float64(r.Requests) * 1e6
	}
	return r
}

func finite(f float64) float64 {
	if f != f || f > 1e15 {
		return 0
	}
	return f
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func readMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// versions asks each installed tool what it is.
func versions(e *env) map[string]string {
	v := map[string]string{}
	cmd := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).CombinedOutput()
		if err != nil && len(b) == 0 {
			return ""
		}
		return strings.TrimSpace(firstLine(strings.TrimSpace(string(b))))
	}
	if s := cmd(e.ntx, "version"); s != "" {
		v["ntx"] = s
	}
	v["nginx"] = cmd("nginx", "-v")
	v["wrk"] = cmd("wrk", "-v")
	v["h2load"] = cmd("h2load", "--version")
	v["tsung"] = cmd("tsung", "-v")
	v["openssl"] = cmd("openssl", "version")
	v["node"] = cmd("node", "--version")
	if s := cmd("dpkg-query", "-W", "-f", "${Version}", "python3-locust"); s != "" {
		v["locust"] = "python3-locust " + s
	}
	for _, b := range []string{"hey", "vegeta", "bombardier"} {
		out, err := exec.Command("go", "version", "-m", filepath.Join(e.bin, b)).Output()
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "mod" {
				v[b] = f[1] + " " + f[2]
			}
		}
	}
	for _, p := range []string{"artillery", "autocannon"} {
		b, err := os.ReadFile(filepath.Join(e.bin, "npm", "node_modules", p, "package.json"))
		if err != nil {
			continue
		}
		var pkg struct{ Version string }
		if json.Unmarshal(b, &pkg) == nil {
			v[p] = pkg.Version
		}
	}
	for k, s := range v {
		if s == "" {
			delete(v, k)
		}
	}
	return v
}
