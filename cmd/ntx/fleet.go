package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/fleet"
)

// segmentFlag reads --segment I/N. An empty I ("/4") is read from
// JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod.
func segmentFlag(s string) (engine.Segment, error) {
	if s == "" {
		return engine.Segment{}, nil
	}
	if strings.HasPrefix(s, "/") {
		idx, ok := os.LookupEnv("JOB_COMPLETION_INDEX")
		if !ok {
			return engine.Segment{}, fmt.Errorf("--segment %s takes I from JOB_COMPLETION_INDEX, which is not set (give --segment I%s)", s, s)
		}
		s = strings.TrimSpace(idx) + s
	}
	return engine.ParseSegment(s)
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
	var parts []*engine.Result
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
func finishFleet(m *engine.Result, out, htmlOut, cmd string, stdout, stderr io.Writer) int {
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
func readResult(file string) (*engine.Result, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var r engine.Result
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: not a result of ntx exec --out: %v", file, err)
	}
	return &r, nil
}

// fleetRun is a segment's part in a fleet run with a coordinator; in
// segment 0 it also runs the coordinator.
type fleetRun struct {
	coord  *fleet.Coordinator
	member *fleet.Member
	seg    engine.Segment
}

// startFleet joins (and for segment 0, first starts) the coordinator at
// addr, and wires the run to it: the run waits at the ready barrier,
// sends a snapshot a second, and stops when the fleet is told to.
func startFleet(addr string, seg engine.Segment, file string, prog *engine.Program, opts *engine.Options,
	startAt time.Time, joinTimeout time.Duration, quiet bool, stop func(), stderr io.Writer) (*fleetRun, error) {
	if seg.Whole() && seg.N != 1 {
		return nil, fmt.Errorf("--coordinator needs --segment I/N")
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(src)
	digest := hex.EncodeToString(sum[:])
	fr := &fleetRun{seg: seg}
	connect := addr
	if seg.I == 0 {
		cfg := fleet.Config{Segments: seg.N, Digest: digest, StartAt: startAt, JoinTimeout: joinTimeout, Abort: abortRules(prog)}
		if !quiet {
			cfg.Progress = stderr
		}
		c, err := fleet.Listen(addr, cfg)
		if err != nil {
			return nil, err
		}
		fr.coord = c
		_, port, _ := net.SplitHostPort(c.Addr())
		connect = net.JoinHostPort("127.0.0.1", port)
		if !quiet {
			fmt.Fprintf(stderr, "ntx: coordinating %d segments on %s\n", seg.N, c.Addr())
		}
	}
	fr.member = fleet.NewMember(fleet.MemberConfig{Coordinator: connect, Segment: seg, Digest: digest, JoinTimeout: joinTimeout})
	opts.Start = fr.member.Start
	opts.Snapshot = fr.member.Snapshot
	go func() {
		<-fr.member.Stop()
		fmt.Fprintf(stderr, "ntx: segment %s stopping: %s\n", seg, fr.member.StopReason())
		stop()
	}()
	return fr, nil
}

// failed tells the fleet that this segment could not run.
func (fr *fleetRun) failed(err error) {
	if fr.coord != nil {
		fr.coord.Fail(fmt.Sprintf("segment %s could not start: %v", fr.seg, err))
		return
	}
	if !errors.Is(err, fleet.ErrUnderWay) {
		fr.member.Fail(err.Error())
	}
}

func (fr *fleetRun) close() {
	if fr.coord != nil {
		fr.coord.Close()
	}
}

// finish sends the segment's result and returns the fleet's exit code.
// Segment 0 writes the merged result and prints its summary; the others
// print their own summary and the fleet's verdict.
func (fr *fleetRun) finish(res *engine.Result, out, htmlOut string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	code, msg, err := fr.member.Finish(ctx, res)
	if fr.coord == nil {
		res.WriteSummary(stdout)
		if err != nil {
			fmt.Fprintf(stderr, "ntx exec: segment %s: %v\n", fr.seg, err)
			return exitDied
		}
		fmt.Fprintf(stdout, "fleet: %s\n", msg)
		return code
	}
	if err != nil {
		fmt.Fprintf(stderr, "ntx exec: segment %s: %v\n", fr.seg, err)
	}
	m, err := fr.coord.Wait(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "ntx exec: the fleet: %v\n", err)
		if m == nil {
			return exitDied
		}
	}
	return finishFleet(m, out, htmlOut, "exec", stdout, stderr)
}

// abortRules are the scenario's abort_on_fail thresholds, which the
// coordinator judges on the fleet's numbers.
func abortRules(prog *engine.Program) []fleet.AbortRule {
	var rules []fleet.AbortRule
	for _, t := range prog.Scenario.Thresholds {
		if t.AbortOnFail {
			rules = append(rules, fleet.AbortRule{Threshold: t.Parsed, Delay: t.Delay})
		}
	}
	return rules
}

func cmdKube(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("kube", "FILE --segments N --image IMAGE [flags]", "Prints the Kubernetes manifests that run a scenario as a fleet of N segments:\na ConfigMap with the scenario and every file it loads, a headless Service for\nthe coordinator, and an Indexed Job whose pod I runs segment I. Apply them with\n'ntx kube ... | kubectl apply -f -'; see docs/fleet.md.", stderr)
	segments := fs.Int("segments", 0, "how many segments (pods) the fleet runs")
	image := fs.String("image", "", "the container `IMAGE` holding ntx (built from the Dockerfile)")
	namespace := fs.String("namespace", "", "the Kubernetes `NAMESPACE` (default: kubectl's)")
	port := fs.Int("coordinator-port", fleet.DefaultCoordinatorPort, "the port segment 0 coordinates on")
	name := fs.String("name", "", "the name of the Job, Service and ConfigMap (default: ntx- and the scenario's name)")
	addrImage := fs.String("address-image", fleet.DefaultAddressImage, "the image that adds pool addresses to pods (needs sh and ip), when a pool has addresses beyond loopback")
	env := envFlag(fs)
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return exitInvalid
	}
	prog, err := engine.Load(file, nil, engine.Options{Env: *env})
	if err != nil {
		return reportErr(stderr, err)
	}
	paths, err := prog.Files()
	if err != nil {
		fmt.Fprintf(stderr, "ntx kube: %v\n", err)
		return exitInvalid
	}
	o := fleet.KubeOptions{Name: *name, Namespace: *namespace, Segments: *segments, Image: *image, Port: *port,
		Scenario: paths[0], AddressImage: *addrImage}
	if o.Name == "" {
		o.Name = fleet.KubeName(prog.Scenario.Name)
	}
	for _, e := range *env {
		o.Args = append(o.Args, "-e", e)
	}
	dir := filepath.Dir(file)
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			fmt.Fprintf(stderr, "ntx kube: %v\n", err)
			return exitInvalid
		}
		o.Files = append(o.Files, fleet.KubeFile{Path: p, Content: b})
	}
	for _, pl := range prog.Scenario.Pools {
		if len(foreignAddrs(pl.Addrs)) > 0 {
			o.AddAddresses = true
		}
	}
	out, err := fleet.Manifests(o)
	if err != nil {
		fmt.Fprintf(stderr, "ntx kube: %v\n", err)
		return exitInvalid
	}
	_, _ = stdout.Write(out)
	return exitPassed
}

// foreignAddrs are the addresses a pod must be given: all but loopback,
// which every host has.
func foreignAddrs(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if !a.IsLoopback() {
			out = append(out, a)
		}
	}
	return out
}

func cmdAddresses(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("addresses", "FILE --segment I/N [--out FILE]", "Prints the addresses segment I of N sends from that a host must be given (every\npool's slice, loopback left out), one prefix a line (A/32, A/128), for\n'ip addr add'. The init container of 'ntx kube' runs it.", stderr)
	segFlag := fs.String("segment", "", "the segment `I/N` (\"/N\" takes I from JOB_COMPLETION_INDEX)")
	out := fs.String("out", "", "write the list to `FILE` instead of standard output")
	env := envFlag(fs)
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return exitInvalid
	}
	seg, err := segmentFlag(*segFlag)
	if err != nil {
		fmt.Fprintf(stderr, "ntx addresses: --segment: %v\n", err)
		return exitInvalid
	}
	prog, err := engine.Load(file, nil, engine.Options{Env: *env})
	if err != nil {
		return reportErr(stderr, err)
	}
	var b strings.Builder
	for _, pl := range prog.Scenario.Pools {
		lo, hi := seg.Range(len(pl.Addrs))
		for _, a := range foreignAddrs(pl.Addrs[lo:hi]) {
			fmt.Fprintf(&b, "%s/%d\n", a, a.BitLen())
		}
	}
	if *out == "" {
		fmt.Fprint(stdout, b.String())
		return exitPassed
	}
	if err := engine.WriteFile(*out, func(w io.Writer) error { _, err := io.WriteString(w, b.String()); return err }); err != nil {
		fmt.Fprintf(stderr, "ntx addresses: %v\n", err)
		return exitDied
	}
	return exitPassed
}
