// Command ntxbench runs the side-by-side benchmark behind `make bench`:
// nginx on loopback as the target, the same workload (USERS connections
// with keep-alive, one GET per iteration, for DURATION) through ntx from
// YAML, ntx from Starlark, ntx with the GET in a Starlark custom action,
// hey and wrk, each measured for requests/s, p50/p99 latency, CPU seconds
// and peak RSS. Then ntx alone at 10,000 mostly thinking users, each
// bound to its own address of a /18 of 127.x, for peak RSS per user.
//
// k6 is not run: it is under the AGPL, which this workplace does not
// allow building; its figure from the engineering notes is printed for
// reference, marked as not measured here.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// target is where nginx listens (scripts/bench/nginx.conf).
const target = "127.0.0.1:18090"

type result struct {
	tool     string
	rps      float64
	p50, p99 float64 // ms
	cpu      float64 // seconds, user + system
	rssKiB   int64
	note     string
}

func main() {
	ntx := flag.String("ntx", "bin/ntx", "the ntx binary")
	hey := flag.String("hey", "bin/hey", "the hey binary")
	dir := flag.String("dir", "scripts/bench", "where nginx.conf and the bench scenarios are")
	duration := flag.Duration("duration", 10*time.Second, "how long each tool runs")
	users := flag.Int("users", 50, "concurrent users (connections)")
	memUsers := flag.Int("memory-users", 10000, "users for the memory run (0 to skip)")
	flag.Parse()

	stop, err := startNginx(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ntxbench:", err)
		os.Exit(1)
	}
	defer stop()

	url := "http://" + target + "/"
	secs := strconv.Itoa(int(duration.Seconds())) + "s"
	u := strconv.Itoa(*users)
	var results []result
	add := func(r result, err error) {
		if err != nil {
			fmt.Fprintf(os.Stderr, "ntxbench: %s: %v\n", r.tool, err)
			return
		}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "  %-22s %9.0f req/s\n", r.tool, r.rps)
	}
	fmt.Fprintf(os.Stderr, "nginx on %s; %d users, keep-alive, one GET per iteration, %s each\n", target, *users, secs)
	for _, f := range []struct{ name, file string }{
		{"ntx (YAML)", "bench.yaml"}, {"ntx (Starlark flow)", "bench.star"}, {"ntx (custom action)", "bench_custom.yaml"},
	} {
		add(runNTX(f.name, *ntx, filepath.Join(*dir, f.file), "--users", u, "--duration", secs))
	}
	add(runHey(*hey, "-z", secs, "-c", u, url))
	if _, err := exec.LookPath("wrk"); err == nil {
		add(runWrk("-t2", "-c"+u, "-d"+secs, "--latency", url))
	}
	results = append(results, result{tool: "k6", note: "not run: AGPL, not allowed here (the notes: 10.6k on a day hey did 16k)"})

	fmt.Printf("\nSide by side (%s, %d users, %s):\n\n", time.Now().UTC().Format("2006-01-02"), *users, secs)
	fmt.Printf("| tool | req/s | p50 ms | p99 ms | CPU s | peak RSS MiB | note |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range results {
		if r.rps == 0 {
			fmt.Printf("| %s | | | | | | %s |\n", r.tool, r.note)
			continue
		}
		fmt.Printf("| %s | %.0f | %.2f | %.2f | %.2f | %.1f | %s |\n", r.tool, r.rps, r.p50, r.p99, r.cpu, float64(r.rssKiB)/1024, r.note)
	}
	find := func(name string) *result {
		for i := range results {
			if strings.HasPrefix(results[i].tool, name) {
				return &results[i]
			}
		}
		return nil
	}
	if n := find("ntx (YAML)"); n != nil {
		fmt.Println()
		for _, other := range []string{"hey", "wrk"} {
			if o := find(other); o != nil && o.rps > 0 {
				fmt.Printf("ntx/%s requests/s: %.2f (measured in this run)\n", other, n.rps/o.rps)
			}
		}
		fmt.Println("ntx/k6 requests/s: not measured (k6 not run)")
		if s := find("ntx (Starlark flow)"); s != nil {
			fmt.Printf("ntx Starlark/YAML requests/s: %.2f\n", s.rps/n.rps)
		}
		if c := find("ntx (custom action)"); c != nil {
			fmt.Printf("ntx custom action/built-in requests/s: %.2f\n", c.rps/n.rps)
		}
	}
	if *memUsers > 0 {
		if err := memoryRun(*ntx, *dir, *memUsers); err != nil {
			fmt.Fprintln(os.Stderr, "ntxbench: memory run:", err)
			os.Exit(1)
		}
	}
}

// startNginx runs nginx with the bench config in a scratch prefix.
func startNginx(dir string) (stop func(), err error) {
	prefix, err := os.MkdirTemp("", "ntxbench-nginx")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, err
	}
	conf, err := filepath.Abs(filepath.Join(dir, "nginx.conf"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-p", prefix, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting nginx: %w", err)
	}
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", target)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			cmd.Process.Kill()
			return nil, fmt.Errorf("nginx did not listen on %s", target)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		cmd.Wait()
		os.RemoveAll(prefix)
	}, nil
}

// measure runs a command and returns its output, CPU seconds and peak RSS.
func measure(name string, args ...string) (out string, cpu float64, rssKiB int64, err error) {
	cmd := exec.Command(name, args...)
	b, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(b), 0, 0, fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return string(b), 0, 0, err
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	return string(b), cpu, ru.Maxrss, nil
}

func runNTX(name, ntx, file string, args ...string) (result, error) {
	r := result{tool: name}
	out, err := os.CreateTemp("", "ntxbench-*.json")
	if err != nil {
		return r, err
	}
	out.Close()
	defer os.Remove(out.Name())
	_, cpu, rss, err := measure(ntx, append([]string{"exec", "--quiet", "--out", out.Name(), file}, args...)...)
	if err != nil {
		return r, err
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return r, err
	}
	var res struct {
		DurationMS float64 `json:"duration_ms"`
		HTTP       struct {
			P50 float64 `json:"p50"`
			P99 float64 `json:"p99"`
		} `json:"http"`
		Actions map[string]struct {
			Count, OK int64
			Kind      string
		} `json:"actions"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return r, err
	}
	var n int64
	for _, a := range res.Actions {
		if a.Kind == "http" {
			n += a.OK
		}
	}
	r.rps = float64(n) / (res.DurationMS / 1000)
	r.p50, r.p99, r.cpu, r.rssKiB = res.HTTP.P50, res.HTTP.P99, cpu, rss
	return r, nil
}

var (
	heyRPS  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	heyPct  = regexp.MustCompile(`(\d+)% in ([\d.]+) secs`)
	wrkRPS  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkPct  = regexp.MustCompile(`^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkErrs = regexp.MustCompile(`Non-2xx|Socket errors`)
)

func runHey(hey string, args ...string) (result, error) {
	r := result{tool: "hey"}
	out, cpu, rss, err := measure(hey, args...)
	if err != nil {
		return r, err
	}
	m := heyRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no requests/s in hey's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range heyPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		switch p[1] {
		case "50":
			r.p50 = v * 1000
		case "99":
			r.p99 = v * 1000
		}
	}
	r.cpu, r.rssKiB = cpu, rss
	return r, nil
}

func runWrk(args ...string) (result, error) {
	r := result{tool: "wrk (C, reference ceiling)"}
	out, cpu, rss, err := measure("wrk", args...)
	if err != nil {
		return r, err
	}
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no requests/s in wrk's output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		p := wrkPct.FindStringSubmatch(sc.Text())
		if p == nil {
			continue
		}
		v, _ := strconv.ParseFloat(p[2], 64)
		switch p[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if p[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if wrkErrs.MatchString(out) {
		r.note = "wrk reported errors"
	}
	r.cpu, r.rssKiB = cpu, rss
	return r, nil
}

// memoryRun starts users each bound to its own address of a /18 of
// 127.x, mostly thinking, and reports ntx's peak RSS per user.
func memoryRun(ntx, dir string, users int) error {
	scenario := func(n int) string {
		return fmt.Sprintf(`name: memory
ip_pools: [{id: slash18, ranges: ["127.64.0.0/18"]}]
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: %d, spread: 5s}]}
  user_lifetime: {mode: loop, iterations: 0, think_time: {min: 4s, max: 6s}}
  duration: 15s
  graceful_stop: 5s
actions: [{id: get, call: get, with: {url: "http://%s/"}}]
tasks: [{id: start, action: get}]
`, n, target)
	}
	tmp, err := os.MkdirTemp("", "ntxbench-mem")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	peak := func(n int) (int64, *result, error) {
		file := filepath.Join(tmp, fmt.Sprintf("mem%d.yaml", n))
		if err := os.WriteFile(file, []byte(scenario(n)), 0o644); err != nil {
			return 0, nil, err
		}
		r, err := runNTX("memory", ntx, file)
		return r.rssKiB, &r, err
	}
	fmt.Fprintf(os.Stderr, "memory: %d users, each bound to its own 127.64.0.0/18 address, thinking 4-6s between GETs, 15s\n", users)
	one, _, err := peak(1)
	if err != nil {
		return err
	}
	many, r, err := peak(users)
	if err != nil {
		return err
	}
	fmt.Printf("\nMemory: %d users, one 127.64.0.0/18 address each, mostly thinking (%.0f req/s):\n", users, r.rps)
	fmt.Printf("peak RSS %.1f MiB with %d users, %.1f MiB with 1: %.1f KiB per user (%.1f KiB counting the baseline)\n",
		float64(many)/1024, users, float64(one)/1024, float64(many-one)/float64(users), float64(many)/float64(users))
	return nil
}
