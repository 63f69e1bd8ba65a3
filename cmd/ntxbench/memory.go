package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// memoryRun is ntx's memory at one count of mostly thinking users.
type memoryRun struct {
	Users       int     `json:"users"`
	Kind        string  `json:"kind"`
	KeepAlive   bool    `json:"keep_alive"`
	PeakMiB     float64 `json:"peak_rss_mib"`
	BaselineMiB float64 `json:"one_user_peak_rss_mib"`
	PerUserKiB  float64 `json:"kib_per_user"`
	Requests    int64   `json:"requests"`
	Errors      int64   `json:"failed"`
	Command     string  `json:"command"`
	Err         string  `json:"error,omitempty"`
}

// memoryScenario: users each bound to their own address of a pool large
// enough for all of them, one GET, then thinking. Up to 20,000 users
// (the hard limit on open files here) they keep their connection while
// thinking; beyond, keep_alive is false and a thinking user holds no
// socket at all.
func memoryScenario(users int) (yaml string, keepAlive bool) {
	keepAlive = users <= 20000
	pool, spreadS, think, dur := "127.64.0.0/17", "5s", "{min: 4s, max: 6s}", "15s"
	if !keepAlive {
		// 100,000 users arrive over 40 s (2,500 new connections a
		// second: at 5,000 a second on a busy 2-core machine, requests
		// timed out and piled up into the open-file limit) and think long
		// enough that most make one request while the rest arrive.
		pool, spreadS, think, dur = "127.64.0.0/15", "40s", "{min: 40s, max: 60s}", "50s"
	}
	return fmt.Sprintf(`# ntxbench's memory workload: %d users, each bound to its own address.
name: memory-%d
ip_pools: [{id: mem, ranges: [%q]}]
http: {keep_alive: %t}
load:
  ramp_up: {phases: [{at_second: 0, spawn_users: %d, spread: %s}]}
  user_lifetime: {mode: loop, iterations: 0, think_time: %s}
  user_resources: {ip_binding: {enabled: true, pool_id: mem, strategy: per_user}}
  duration: %s
  graceful_stop: 5s
actions: [{id: get, call: get, with: {url: %q}}]
tasks: [{id: start, action: get}]
`, users, users, pool, keepAlive, users, spreadS, think, dur, plainURL), keepAlive
}

func memoryRuns(m *meter, e *env, out string, counts []int, stopping *atomic.Bool) []memoryRun {
	var res []memoryRun
	dir := filepath.Join(out, "memory")
	os.MkdirAll(dir, 0o755)
	for _, n := range counts {
		if stopping.Load() {
			break
		}
		y, ka := memoryScenario(n)
		mr := memoryRun{Users: n, KeepAlive: ka, Kind: "keep-alive: each holds its connection"}
		if !ka {
			mr.Kind = "`keep_alive: false`: none held"
		}
		file := filepath.Join(dir, fmt.Sprintf("memory-%d.yaml", n))
		if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
			mr.Err = err.Error()
			res = append(res, mr)
			continue
		}
		one := func(users string) (run, string) {
			result := filepath.Join(dir, fmt.Sprintf("memory-%d-%s.json", n, users))
			args := []string{e.ntx, "exec", "--quiet", "--max-memory", "0", "--out", result, file}
			if users == "1" {
				// One user's peak is reached at once: no need to wait
				// out the many users' schedule.
				args = append(args, "--users", "1", "--duration", "10s")
			}
			iv := &invocation{argv: args, parse: fileParse(result, parseNTX)}
			c := iv.command()
			logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("memory-%d-%s.log", n, users)))
			c.Stdout, c.Stderr = logf, logf
			u, err := m.run("memory", c, 3*time.Minute)
			logf.Close()
			r := run{measured: newMeasured(), PeakRSSMiB: float64(u.PeakRSSKiB) / 1024, CPU: u.CPU}
			got, perr := iv.parse("")
			r.measured = got
			if err != nil && u.TimedOut {
				r.Err = err.Error()
			} else if perr != nil {
				r.Err = perr.Error()
			}
			return r, iv.commandLine()
		}
		fmt.Fprintf(os.Stderr, "memory: %d users (%s), and the same scenario with 1 user\n", n, mr.Kind)
		base, _ := one("1")
		many, cmd := one(strconv.Itoa(n))
		mr.Command = cmd
		switch {
		case base.Err != "":
			mr.Err = "1 user: " + base.Err
		case many.Err != "":
			mr.Err = many.Err
		default:
			mr.BaselineMiB, mr.PeakMiB = base.PeakRSSMiB, many.PeakRSSMiB
			mr.PerUserKiB = (many.PeakRSSMiB - base.PeakRSSMiB) * 1024 / float64(n)
			mr.Requests, mr.Errors = many.Requests, many.Errors
		}
		fmt.Fprintf(os.Stderr, "memory: %d users: peak %.1f MiB, 1 user %.1f MiB: %.1f KiB per user (%d requests, %d failed) %s\n",
			n, mr.PeakMiB, mr.BaselineMiB, mr.PerUserKiB, mr.Requests, mr.Errors, mr.Err)
		res = append(res, mr)
		time.Sleep(2 * time.Second)
	}
	return res
}
