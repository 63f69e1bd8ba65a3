package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// row summarises one tool on one workload over the rounds.
type row struct {
	Workload  string `json:"workload"`
	Tool      string `json:"tool"`
	Label     string `json:"label"`
	Runs      int    `json:"runs"`
	Failed    int    `json:"failed"`
	Errors    int64  `json:"errors"` // failed requests over all its runs
	RPS       spread `json:"rps"`
	P50       opt    `json:"p50_ms"` // medians of what the tool reported
	P99       opt    `json:"p99_ms"`
	Mean      opt    `json:"mean_ms"`
	CPU       spread `json:"cpu_s"`
	CPUPerReq spread `json:"cpu_us_per_request"`
	RSS       spread `json:"peak_rss_mib"`
	NginxCPU  spread `json:"nginx_cpu_s"`
	// The ratio of ntx's requests/s to this tool's, within each round.
	YAMLOver spread `json:"ntx_yaml_over_tool"`
	StarOver spread `json:"ntx_star_over_tool"`
}

func optMedian(vs []opt) opt {
	var xs []float64
	for _, v := range vs {
		if v.ok() {
			xs = append(xs, float64(v))
		}
	}
	if len(xs) == 0 {
		return none
	}
	slices.Sort(xs)
	return opt(median(xs))
}

// summarize makes one row per tool and workload, in the tools' order.
func summarize(ws []workload, runs []run) []row {
	var rows []row
	for _, w := range ws {
		by := map[string][]run{}
		for _, r := range runs {
			if r.Workload == w.ID {
				by[r.Tool] = append(by[r.Tool], r)
			}
		}
		for _, t := range tools {
			rs := by[t.Name]
			if len(rs) == 0 {
				continue
			}
			rw := row{Workload: w.ID, Tool: t.Name, Label: t.Label, Runs: len(rs)}
			var rps, cpu, per, rss, ng []float64
			var p50, p99, mean []opt
			for _, r := range rs {
				rw.Errors += r.Errors
				if !r.ok() {
					rw.Failed++
					continue
				}
				rps = append(rps, r.RPS)
				cpu = append(cpu, r.CPU)
				if r.CPUPerReq > 0 {
					per = append(per, r.CPUPerReq)
				}
				rss = append(rss, r.PeakRSSMiB)
				ng = append(ng, r.NginxCPU)
				p50, p99, mean = append(p50, r.P50), append(p99, r.P99), append(mean, r.Mean)
			}
			rw.RPS, rw.CPU, rw.CPUPerReq, rw.RSS, rw.NginxCPU = spreadOf(rps), spreadOf(cpu), spreadOf(per), spreadOf(rss), spreadOf(ng)
			rw.P50, rw.P99, rw.Mean = optMedian(p50), optMedian(p99), optMedian(mean)
			if t.Name != "ntx-yaml" {
				rw.YAMLOver = spreadOf(roundRatios(by["ntx-yaml"], rs))
			}
			if t.Name != "ntx-star" {
				rw.StarOver = spreadOf(roundRatios(by["ntx-star"], rs))
			}
			rows = append(rows, rw)
		}
	}
	return rows
}

func findRow(rows []row, workload, tool string) *row {
	for i := range rows {
		if rows[i].Workload == workload && rows[i].Tool == tool {
			return &rows[i]
		}
	}
	return nil
}

// goal is one of issue #13 item 2's (or #9's) targets and where this
// run stands against it.
type goal struct {
	Issue    string  `json:"issue"`
	What     string  `json:"what"`
	Target   string  `json:"target"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Met      *bool   `json:"met"` // null: not measured in this run
	By       string  `json:"by"`
}

// goals checks the run against the issues' targets. A ratio's median
// over the rounds is what is held to the target.
func goals(rows []row, mem []memoryRun) []goal {
	var out []goal
	atLeast := func(issue, what string, target float64, v spread, unit string) {
		g := goal{Issue: issue, What: what, Target: fmt.Sprintf("≥ %.2f%s", target, unit)}
		if v.N > 0 {
			met := v.Median >= target
			g.Met, g.Value = &met, v.Median
			g.Measured = fmt.Sprintf("%.2f%s (rounds %.2f–%.2f)", v.Median, unit, v.Min, v.Max)
			if met {
				g.By = fmt.Sprintf("met, %.0f%% above", (v.Median/target-1)*100)
			} else {
				g.By = fmt.Sprintf("missed: %.0f%% short (needs %.2f× more)", (1-v.Median/target)*100, target/v.Median)
			}
		} else {
			g.Measured, g.By = "not measured", "—"
		}
		out = append(out, g)
	}
	ratio := func(workload, tool, over string) spread {
		r := findRow(rows, workload, tool)
		if r == nil {
			return spread{}
		}
		if over == "star" {
			return r.StarOver
		}
		return r.YAMLOver
	}
	for _, w := range []string{"get50", "get500"} {
		n := "50"
		if w == "get500" {
			n = "500"
		}
		atLeast("#13", "one GET, "+n+" connections: ntx YAML ÷ bombardier", 1.0, ratio(w, "bombardier", "yaml"), "×")
		atLeast("#13", "one GET, "+n+" connections: ntx `.star` ÷ bombardier", 1.0, ratio(w, "bombardier", "star"), "×")
		atLeast("#13", "one GET, "+n+" connections: ntx YAML ÷ wrk", 0.9, ratio(w, "wrk", "yaml"), "×")
		atLeast("#13", "one GET, "+n+" connections: ntx `.star` ÷ wrk", 0.9, ratio(w, "wrk", "star"), "×")
	}
	atLeast("#13", "HTTPS keep-alive: ntx ÷ wrk", 0.8, ratio("https", "wrk", "yaml"), "×")
	atLeast("#9", "HTTPS keep-alive: ntx ÷ wrk", 0.7, ratio("https", "wrk", "yaml"), "×")
	atLeast("#13", "HTTPS, a handshake per request: ntx ÷ hey", 1.0, ratio("handshake", "hey", "yaml"), "×")
	atLeast("#9", "handshakes/s: ntx ÷ openssl s_time (one process per core)", 0.8, ratio("handshake", "s_time", "yaml"), "×")
	atLeast("#9", "HTTP/2: ntx ÷ h2load (50 connections, 1 stream each)", 1.0, ratio("h2", "h2load", "yaml"), "×")
	atLeast("#13", "two-step flow: ntx YAML ÷ Locust, one process per core (requests/s)", 5, ratio("flow", "locust-n", "yaml"), "×")
	// Per core: requests per CPU-second, Locust's CPU µs per request over
	// ntx's. On two cores shared with nginx Locust's processes cannot each
	// have a core, so requests/s alone understates what a core of it does.
	for _, l := range []string{"locust-1", "locust-n"} {
		n, t := findRow(rows, "flow", "ntx-yaml"), findRow(rows, "flow", l)
		v := spread{}
		if n != nil && t != nil && n.CPUPerReq.N > 0 && t.CPUPerReq.N > 0 {
			v = spread{Median: t.CPUPerReq.Median / n.CPUPerReq.Median, Min: t.CPUPerReq.Min / n.CPUPerReq.Max,
				Max: t.CPUPerReq.Max / n.CPUPerReq.Min, N: 1}
		}
		what := map[string]string{"locust-1": "one process", "locust-n": "one process per core"}[l]
		atLeast("#13", "two-step flow, per core (requests per CPU-second): ntx YAML ÷ Locust, "+what, 5, v, "×")
	}
	atLeast("#13", "two-step flow: ntx YAML ÷ Artillery", 10, ratio("flow", "artillery", "yaml"), "×")

	within := func(issue, what string, v spread, tol float64) {
		g := goal{Issue: issue, What: what, Target: fmt.Sprintf("within ±%.0f%%", tol*100)}
		if v.N > 0 {
			dev := v.Median - 1
			met := math.Abs(dev) <= tol
			g.Met, g.Value = &met, v.Median
			g.Measured = fmt.Sprintf("%.2f (rounds %.2f–%.2f)", v.Median, v.Min, v.Max)
			if met {
				g.By = fmt.Sprintf("met (%+.0f%%)", dev*100)
			} else {
				g.By = fmt.Sprintf("missed by %.0f points (%+.0f%%)", (math.Abs(dev)-tol)*100, dev*100)
			}
		} else {
			g.Measured, g.By = "not measured", "—"
		}
		out = append(out, g)
	}
	for _, w := range []string{"get50", "get500"} {
		within("#13", "YAML ÷ `.star` requests/s, "+strings.TrimPrefix(w, "get")+" connections", ratio(w, "ntx-star", "yaml"), 0.05)
	}
	// CPU per request from 10 to 500 connections: the highest median of
	// the three workloads over the lowest (1.00 is perfectly flat).
	for _, t := range []struct{ tool, label string }{{"ntx-yaml", "ntx YAML"}, {"ntx-star", "ntx `.star`"}} {
		lo, hi, names := math.Inf(1), 0.0, []string{}
		for _, w := range []string{"get10", "get50", "get500"} {
			if r := findRow(rows, w, t.tool); r != nil && r.CPUPerReq.N > 0 {
				lo, hi = math.Min(lo, r.CPUPerReq.Median), math.Max(hi, r.CPUPerReq.Median)
				names = append(names, strings.TrimPrefix(w, "get"))
			}
		}
		what := t.label + " CPU per request, highest ÷ lowest over " + strings.Join(names, ", ") + " connections"
		if len(names) < 2 {
			within("#13", t.label+" CPU per request from 10 to 500 connections", spread{}, 0.05)
			continue
		}
		within("#13", what, spread{Median: hi / lo, Min: hi / lo, Max: hi / lo, N: 1}, 0.05)
	}
	atMost := func(issue, what string, target float64, v float64, ok bool) {
		g := goal{Issue: issue, What: what, Target: fmt.Sprintf("≤ %.1f KiB", target)}
		if ok {
			met := v <= target
			g.Met, g.Value = &met, v
			g.Measured = fmt.Sprintf("%.1f KiB", v)
			if met {
				g.By = fmt.Sprintf("met, %.0f%% under", (1-v/target)*100)
			} else {
				g.By = fmt.Sprintf("missed: %.0f%% over", (v/target-1)*100)
			}
		} else {
			g.Measured, g.By = "not measured", "—"
		}
		out = append(out, g)
	}
	find := func(users int) (float64, bool) {
		for _, m := range mem {
			if m.Users == users && m.Err == "" {
				return m.PerUserKiB, true
			}
		}
		return 0, false
	}
	v, ok := find(100000)
	atMost("#13", "memory per user, 100,000 users holding no idle connection", 3, v, ok)
	v, ok = find(18000)
	atMost("#13", "memory per user, 18,000 bound users holding their connections", 5, v, ok)
	return out
}

func fmtOpt(o opt, prec int) string {
	if !o.ok() {
		return "—"
	}
	return fixed(float64(o), prec)
}

func fixed(v float64, prec int) string { return fmt.Sprintf("%.*f", prec, v) }

// thousands formats a count with thousands separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtRatio(s spread) string {
	if s.N == 0 {
		return ""
	}
	if s.N == 1 {
		return fmt.Sprintf("%.2f", s.Median)
	}
	return fmt.Sprintf("**%.2f** (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

func fmtSpread(s spread, f func(float64) string) string {
	if s.N == 0 {
		return "—"
	}
	if s.N == 1 || s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}

// markdown renders the report as the tables docs/benchmarks.md keeps.
func markdown(rep *report) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## Side by side: `make bench`, %s\n\n", rep.Date)
	p("%d cores (%s), Linux %s, %s; load average %s at the start. %d rounds of %s per tool and workload, rounds interleaved (round r runs every tool once, in an order rotated by r). ",
		rep.Machine.Cores, rep.Machine.CPU, rep.Machine.Kernel, rep.Machine.Go, rep.Machine.LoadAvg, rep.Rounds, rep.Duration)
	p("Requests/s: median (min–max) over the rounds. p50/p99: the median over the rounds of what each tool reports (— where it reports none: h2load and Tsung give only a mean). ")
	p("CPU: %s, median per run; µs/req divides it by the requests the tool counted. nginx CPU: its own group's CPU during the run. ", rep.CPUMethod)
	p("Ratios: ntx's requests/s ÷ the tool's, taken within each round, then the median (min–max).\n\n")
	for _, w := range rep.Workloads {
		var rows []row
		for _, r := range rep.Summary {
			if r.Workload == w.ID {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		p("### %s\n\n", w.Title)
		p("| tool | req/s | p50 ms | p99 ms | CPU s | CPU µs/req | peak RSS MiB | nginx CPU s | ntx YAML ÷ tool | ntx `.star` ÷ tool |\n")
		p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			label := r.Label
			if r.Failed > 0 {
				label += fmt.Sprintf(" (%d of %d runs failed)", r.Failed, r.Runs)
			}
			if r.Errors > 0 {
				label += fmt.Sprintf(" (%s failed requests)", thousands(float64(r.Errors)))
			}
			p50 := fmtOpt(r.P50, 2)
			if !r.P50.ok() && r.Mean.ok() {
				p50 = "mean " + fmtOpt(r.Mean, 2)
			}
			p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label,
				fmtSpread(r.RPS, thousands), p50, fmtOpt(r.P99, 2),
				fmtSpread(spread{Median: r.CPU.Median, N: min(r.CPU.N, 1)}, func(v float64) string { return fixed(v, 1) }),
				fmtSpread(spread{Median: r.CPUPerReq.Median, N: min(r.CPUPerReq.N, 1)}, func(v float64) string { return fixed(v, 1) }),
				fmtSpread(spread{Median: r.RSS.Median, N: min(r.RSS.N, 1)}, func(v float64) string { return fixed(v, 1) }),
				fmtSpread(spread{Median: r.NginxCPU.Median, N: min(r.NginxCPU.N, 1)}, func(v float64) string { return fixed(v, 1) }),
				fmtRatio(r.YAMLOver), fmtRatio(r.StarOver))
		}
		p("\n")
	}
	if len(rep.Skipped) > 0 {
		var names []string
		for n := range rep.Skipped {
			names = append(names, n)
		}
		sort.Strings(names)
		p("Not run: ")
		for i, n := range names {
			if i > 0 {
				p("; ")
			}
			p("%s (%s)", n, rep.Skipped[n])
		}
		p(". k6: not run (AGPL).\n\n")
	}
	if len(rep.Memory) > 0 {
		p("### Memory per user (ntx)\n\n")
		p("Each user bound to its own source address, one GET per iteration, then thinking; peak RSS of the ntx process. Per user: (peak with N users − peak of the same scenario with 1 user) ÷ N.\n\n")
		p("| users | connections while thinking | peak RSS MiB | 1 user MiB | KiB per user | requests | failed |\n|---:|---|---:|---:|---:|---:|---:|\n")
		for _, m := range rep.Memory {
			if m.Err != "" {
				p("| %s | %s | failed: %s | | | | |\n", thousands(float64(m.Users)), m.Kind, m.Err)
				continue
			}
			p("| %s | %s | %.1f | %.1f | **%.1f** | %s | %s |\n", thousands(float64(m.Users)), m.Kind, m.PeakMiB, m.BaselineMiB, m.PerUserKiB,
				thousands(float64(m.Requests)), thousands(float64(m.Errors)))
		}
		p("\n")
	}
	if len(rep.Goals) > 0 {
		p("### Goals (issue #13 item 2, issue #9's performance section)\n\n| issue | goal | target | measured (median of the rounds) | |\n|---|---|---|---|---|\n")
		for _, g := range rep.Goals {
			p("| %s | %s | %s | %s | %s |\n", g.Issue, g.What, g.Target, g.Measured, g.By)
		}
		p("\n")
	}
	if rep.Profile != nil {
		b.WriteString(rep.Profile.markdown())
	}
	p("Versions: ")
	var names []string
	for n := range rep.Versions {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i > 0 {
			p("; ")
		}
		p("%s: %s", n, rep.Versions[n])
	}
	p(".\n")
	return b.String()
}
