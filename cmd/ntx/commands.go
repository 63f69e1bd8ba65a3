package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/catalog"
	"github.com/ntx-dev/ntx/engine/target"
)

// newFlags makes a subcommand's flag set.
func newFlags(name, args, summary string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n%s\n", strings.TrimSpace("ntx "+name+" "+args), summary)
		// A command without flags gets no empty Flags section.
		if flags := fs.FlagUsages(); flags != "" {
			fmt.Fprintf(stderr, "\nFlags:\n%s", flags)
		}
	}
	return fs
}

// parse reads a subcommand's flags: ok says whether to go on, code is the
// exit code when not (0 after --help, 2 on a bad flag).
func parse(fs *pflag.FlagSet, args []string, stderr io.Writer) (ok bool, code int) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return false, exitPassed
		}
		fmt.Fprintf(stderr, "ntx %s: %v\nRun 'ntx %s --help' for its flags.\n", fs.Name(), err, fs.Name())
		return false, exitInvalid
	}
	return true, 0
}

// oneFile checks that exactly one file argument was given.
func oneFile(fs *pflag.FlagSet, stderr io.Writer) (string, bool) {
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "ntx %s: want exactly one scenario file, got %d arguments\n", fs.Name(), fs.NArg())
		fs.Usage()
		return "", false
	}
	return fs.Arg(0), true
}

// report prints a load error: input errors are already FILE:LINE:COL.
func reportErr(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, err)
	if engine.IsInputError(err) {
		return exitInvalid
	}
	return exitDied
}

func cmdExec(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("exec", "[flags] FILE", "Runs a scenario (.yaml/.yml or .star) and prints a summary of what happened.", stderr)
	out := fs.String("out", "", "write the result as JSON to `FILE.json`")
	seed := fs.Uint64("seed", 1, "seed for every random choice: addresses, think times, random.*, data rows in random order")
	maxSteps := fs.Uint64("max-steps", 0, "Starlark steps one iteration may take (default 10000000)")
	maxMemory := fs.String("max-memory", "256MiB", "how much the run's heap may grow (`SIZE`: 512MiB, 2GiB; 0 for no limit) before running iterations are stopped")
	users := fs.Int("users", 0, "start this many users at once instead of the ramp-up phases")
	iterations := fs.Int("iterations", 0, "iterations per user, overriding user_lifetime; 0 loops until the duration ends")
	duration := fs.Duration("duration", 0, "stop starting iterations after this long, e.g. 30s")
	rateFlag := fs.String("rate", "", "run the open model at this arrival `RATE` (e.g. 200/s), replacing the ramp-up")
	htmlOut := fs.String("report", "", "write a self-contained HTML report to `FILE.html`")
	maxNames := fs.Int("max-names", 1000, "distinct measured names to keep; calls with later names are counted as (other)")
	quiet := fs.BoolP("quiet", "q", false, "print no progress and no script log lines")
	env := envFlag(fs)
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to `FILE` (for performance work)")
	memProfile := fs.String("memprofile", "", "write a Go heap profile to `FILE` at the end of the run (allocations of the whole run, and what is still held)")
	mutexProfile := fs.String("mutexprofile", "", "write a Go mutex contention profile of the run to `FILE`")
	blockProfile := fs.String("blockprofile", "", "write a Go blocking profile of the run to `FILE` (waits on locks, channels, selects)")
	segFlag := fs.String("segment", "", "run segment `I/N` of a fleet of N (I from 0); \"/N\" takes I from JOB_COMPLETION_INDEX")
	startAt := fs.String("start-at", "", "hold the schedule until `TIME`: RFC 3339, or +30s from now")
	coordinator := fs.String("coordinator", "", "run as a segment of a fleet coordinated at `HOST:PORT`: segment 0 listens there, the others connect")
	joinTimeout := fs.Duration("join-timeout", 2*time.Minute, "with --coordinator: how long to wait for the coordinator, and for every segment to join")
	metricsAddr := fs.String("metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics while the run lasts (e.g. 127.0.0.1:9464)")
	dashAddr := fs.String("dashboard", "", "serve a live dashboard at http://`ADDR`/ while the run lasts (e.g. 127.0.0.1:8089)")
	linger := fs.Duration("linger", 5*time.Second, "with --metrics or --dashboard: keep serving the final state this long after the run")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return exitInvalid
	}
	if *users < 0 || *iterations < 0 || *duration < 0 || *maxNames < 1 {
		fmt.Fprintln(stderr, "ntx exec: --users, --iterations and --duration must not be negative, --max-names must be at least 1")
		return exitInvalid
	}
	opts := engine.Options{Env: *env}
	opts.Seed, opts.MaxSteps = *seed, *maxSteps
	opts.Users, opts.Iterations, opts.Duration = *users, *iterations, *duration
	opts.MaxNames = *maxNames
	opts.UntilDuration = fs.Changed("iterations") && *iterations == 0
	seg, err := segmentFlag(*segFlag)
	if err != nil {
		fmt.Fprintf(stderr, "ntx exec: --segment: %v\n", err)
		return exitInvalid
	}
	opts.Segment = seg
	var startTime time.Time
	if *startAt != "" {
		at, err := startAtFlag(*startAt, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "ntx exec: %v\n", err)
			return exitInvalid
		}
		startTime = at
		opts.Start = func(context.Context) (time.Time, error) { return at, nil }
	}
	if *coordinator != "" && *segFlag == "" {
		fmt.Fprintln(stderr, "ntx exec: --coordinator needs --segment I/N")
		return exitInvalid
	}
	if *coordinator != "" && seg.I != 0 {
		// Segment 0 merges the fleet's results and writes the files; the
		// others send theirs to it (docs/fleet.md). Said now, not found
		// missing after the run.
		for _, f := range []struct{ flag, path string }{{"--out", *out}, {"--report", *htmlOut}} {
			if f.path != "" {
				fmt.Fprintf(stderr, "ntx exec: segment %s sends its result to the coordinator; %s %s is written by segment 0 only\n", seg, f.flag, f.path)
			}
		}
	}
	mem, err := engine.ParseMemory(*maxMemory)
	if err != nil {
		fmt.Fprintf(stderr, "ntx exec: --max-memory: %v\n", err)
		return exitInvalid
	}
	opts.MaxMemory = mem
	if *rateFlag != "" {
		r, err := catalog.ParseRate(*rateFlag)
		if err != nil {
			fmt.Fprintf(stderr, "ntx exec: --rate: %v\n", err)
			return exitInvalid
		}
		opts.Rate = r
	}
	if !*quiet {
		opts.Log = stderr
		opts.Progress = newProgressPrinter(stderr).update
	}
	// Before any load is sent: a long run must not end unable to save
	// its result, nor by overwriting the scenario it ran.
	if err := engine.CheckOutputs([]string{file},
		engine.Output{Flag: "--out", Path: *out},
		engine.Output{Flag: "--report", Path: *htmlOut},
		engine.Output{Flag: "--cpuprofile", Path: *cpuProfile},
		engine.Output{Flag: "--memprofile", Path: *memProfile},
		engine.Output{Flag: "--mutexprofile", Path: *mutexProfile},
		engine.Output{Flag: "--blockprofile", Path: *blockProfile}); err != nil {
		fmt.Fprintf(stderr, "ntx exec: %v\n", err)
		return exitInvalid
	}
	prog, err := engine.Load(file, nil, opts)
	if err != nil {
		return reportErr(stderr, err)
	}
	for _, w := range prog.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", w.Pos, w.Msg)
	}
	if opts.UntilDuration && *duration == 0 && prog.Scenario.Load.Duration == 0 {
		fmt.Fprintln(stderr, "ntx exec: --iterations 0 loops until the duration ends: give --duration (or load.duration in the scenario)")
		return exitInvalid
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abort := make(chan struct{})
	opts.Abort = abort
	// --metrics and --dashboard linger after the run: deferred before
	// the signal handling below ends, so that it has ended by then and a
	// Ctrl-C only cuts the lingering short.
	var w *watcher
	var final *engine.Result
	defer func() {
		if w != nil && final != nil {
			w.finish(final)
		}
	}()
	finished := make(chan struct{})
	defer close(finished)
	var aborted atomic.Bool
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go interrupts(sigs, finished, stderr, cancel, func() { aborted.Store(true); close(abort) })

	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "ntx exec: --cpuprofile: %v\n", err)
			return exitInvalid
		}
		defer stop()
	}
	// Deferred after the CPU profile's stop, so they run before it: the
	// run is over, the summary written.
	for _, p := range []struct{ flag, path, name string }{
		{"--memprofile", *memProfile, "allocs"}, {"--mutexprofile", *mutexProfile, "mutex"}, {"--blockprofile", *blockProfile, "block"},
	} {
		if p.path == "" {
			continue
		}
		write := startProfile(p.name)
		defer func() {
			if err := engine.WriteFile(p.path, write); err != nil {
				fmt.Fprintf(stderr, "ntx exec: %s %s: %v\n", p.flag, p.path, err)
			}
		}()
	}
	var fr *fleetRun
	if *coordinator != "" {
		fr, err = startFleet(*coordinator, seg, file, prog, &opts, startTime, *joinTimeout, *quiet, cancel, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "ntx exec: --coordinator: %v\n", err)
			return exitDied
		}
		defer fr.close()
	}
	segLabel := ""
	if !seg.Whole() {
		segLabel = seg.String()
	}
	w, err = startWatch(*metricsAddr, *dashAddr, segLabel, *linger, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "ntx exec: %v\n", err)
		return exitInvalid
	}
	if w != nil {
		opts.Snapshot = w.snapshot(opts.Snapshot)
	}
	res, err := prog.Run(ctx, opts.Options)
	if err != nil {
		if fr != nil {
			fr.failed(err)
		}
		if w != nil {
			w.close()
		}
		return reportErr(stderr, err)
	}
	// Shown, and served for --linger, once the summary and the files are
	// written: they do not wait.
	final = res
	if fr != nil {
		return fr.finish(res, *out, *htmlOut, stdout, stderr)
	}
	res.WriteSummary(stdout)
	code := exitPassed
	if !res.Passed {
		code = exitFailed
	}
	for _, w := range []struct {
		flag, path string
		write      func(io.Writer) error
	}{{"--out", *out, res.WriteJSON}, {"--report", *htmlOut, res.WriteHTML}} {
		if w.path == "" {
			continue
		}
		if err := engine.WriteFile(w.path, w.write); err != nil {
			fmt.Fprintf(stderr, "ntx exec: %s %s: %v\n", w.flag, w.path, err)
			code = exitDied
		}
	}
	if aborted.Load() {
		// What completed is written; the run itself did not end.
		return exitDied
	}
	return code
}

// abortWait bounds how long a run cut by a second signal may take to
// hand back what completed before ntx exits without it. Cut work ends
// in milliseconds; this only guards against something stuck.
const abortWait = 10 * time.Second

// interrupts handles SIGINT and SIGTERM during a run. The first stops
// the run gracefully (stop: no new iterations, in-flight ones get
// graceful_stop). The second skips the graceful stop (abort): in-flight
// work is cut, and the summary and files of what completed are still
// written. A third, or a run that does not stop in time, exits at once.
func interrupts(sigs <-chan os.Signal, finished <-chan struct{}, stderr io.Writer, stop, abort func()) {
	select {
	case <-sigs:
	case <-finished:
		return
	}
	fmt.Fprintln(stderr, "ntx: stopping: in-flight iterations get graceful_stop; interrupt again to cut them and write what completed")
	stop()
	select {
	case <-sigs:
	case <-finished:
		return
	}
	fmt.Fprintln(stderr, "ntx: interrupted: cutting in-flight work; writing what completed (interrupt again to quit without it)")
	abort()
	select {
	case <-sigs:
		fmt.Fprintln(stderr, "ntx: interrupted")
	case <-time.After(abortWait):
		fmt.Fprintf(stderr, "ntx: the run did not stop within %s of being interrupted; quitting without its result\n", abortWait)
	case <-finished:
		return
	}
	os.Exit(exitDied)
}

// envFlag adds -e, the environment variables a scenario may read: the
// rest of the process environment is not the scenario's to see.
func envFlag(fs *pflag.FlagSet) *[]string {
	return fs.StringArrayP("env", "e", nil, "let the scenario read environment variable `NAME` as env.NAME (or give NAME=VALUE); repeatable. Variables starting with NTX_ are always readable, no others")
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// startProfile turns on the runtime's sampling for the named profile
// (allocs, mutex or block) and returns what writes it. Mutex and block
// profiling record every event: a profiling run is for measuring, and
// sampled contention would hide the rare long waits.
func startProfile(name string) func(io.Writer) error {
	switch name {
	case "mutex":
		runtime.SetMutexProfileFraction(1)
	case "block":
		runtime.SetBlockProfileRate(1)
	}
	return func(w io.Writer) error {
		switch name {
		case "allocs":
			runtime.GC() // what is still held is up to date
		case "mutex":
			defer runtime.SetMutexProfileFraction(0)
		case "block":
			defer runtime.SetBlockProfileRate(0)
		}
		return pprof.Lookup(name).WriteTo(w, 0)
	}
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "FILE...", "Checks scenarios and prints every problem at FILE:LINE:COL; runs nothing.\nEach file is reported; the exit code is 2 if any of them is invalid.", stderr)
	env := envFlag(fs)
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "ntx validate: want one or more scenario files")
		fs.Usage()
		return exitInvalid
	}
	worst := exitPassed
	for _, file := range fs.Args() {
		prog, err := engine.Load(file, nil, engine.Options{Env: *env})
		if err != nil {
			worst = max(worst, reportErr(stderr, err))
			continue
		}
		for _, w := range prog.Warnings {
			fmt.Fprintf(stderr, "%s: warning: %s\n", w.Pos, w.Msg)
		}
		fmt.Fprintf(stdout, "%s: ok\n", file)
	}
	return worst
}

func cmdCompile(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("compile", "FILE.yaml", "Prints the Starlark program a YAML scenario compiles to. Running it with\n'ntx exec' behaves exactly like running the YAML. With -o, the program's\nload() paths are rewritten to work from where it is written.", stderr)
	out := fs.StringP("out", "o", "", "write the program to `FILE.star` instead of standard output")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return exitInvalid
	}
	if err := engine.CheckOutputs([]string{file}, engine.Output{Flag: "-o", Path: *out}); err != nil {
		fmt.Fprintf(stderr, "ntx compile: %v\n", err)
		return exitInvalid
	}
	code, err := engine.CompileTo(file, nil, *out)
	if err != nil {
		return reportErr(stderr, err)
	}
	if *out == "" {
		fmt.Fprint(stdout, code)
		return exitPassed
	}
	if err := engine.WriteFile(*out, func(w io.Writer) error {
		_, err := io.WriteString(w, code)
		return err
	}); err != nil {
		fmt.Fprintf(stderr, "ntx compile: -o %s: %v\n", *out, err)
		return exitDied
	}
	return exitPassed
}

func cmdServe(args []string, stdout, stderr io.Writer) int {
	def := target.DefaultConfig()
	fs := newFlags("serve", "[flags]", "Starts the built-in demo target on loopback until interrupted: HTTP (and h2c), HTTPS\n(HTTP/1.1, HTTP/2, and HTTP/3 on the same port over UDP), a TCP line echo, a UDP echo, a\nDNS server for the zone ntx.test (also over TLS) and an HTTP proxy.\n\n"+strings.TrimSuffix(target.Help, "\n"), stderr)
	httpAddr := fs.String("http", def.HTTP, "HTTP listen address (empty to disable)")
	httpsAddr := fs.String("https", def.HTTPS, "HTTPS listen address, TCP; HTTP/3 on the same port over UDP (empty to disable)")
	http3 := fs.Bool("http3", def.HTTP3, "serve HTTP/3 on the HTTPS port over UDP")
	tcpAddr := fs.String("tcp", def.TCP, "TCP line-echo listen address (empty to disable)")
	udpAddr := fs.String("udp", def.UDP, "UDP echo listen address (empty to disable)")
	dnsAddr := fs.String("dns", def.DNS, "DNS listen address, UDP and TCP (empty to disable)")
	dotAddr := fs.String("dot", def.DoT, "DNS over TLS listen address, e.g. 127.0.0.1:18853 (off unless given)")
	proxyAddr := fs.String("proxy", def.Proxy, "HTTP proxy listen address, e.g. 127.0.0.1:18088: CONNECT and absolute-form, to loopback only (off unless given)")
	proxyAuth := fs.String("proxy-auth", "", "require these Basic proxy credentials, `USER:PASSWORD`")
	cert := fs.String("cert", "", "HTTPS certificate `FILE` (PEM) instead of one made at start; needs --key")
	key := fs.String("key", "", "HTTPS private key `FILE` (PEM)")
	caOut := fs.String("ca-out", "", "write the CA of the certificate made at start to `FILE` (PEM), for clients to trust")
	clientCA := fs.String("client-ca", "", "require client certificates signed by a CA in `FILE` (PEM): mutual TLS")
	optional := fs.Bool("client-cert-optional", false, "with --client-ca: verify a client certificate only when one is sent")
	tlsMin := fs.String("tls-min", "", "lowest TLS version accepted: 1.0, 1.1, 1.2 or 1.3 (default 1.0)")
	tlsMax := fs.String("tls-max", "", "highest TLS version accepted (default 1.3)")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ntx serve: takes no arguments\n")
		return exitInvalid
	}
	cfg := target.Config{HTTP: *httpAddr, HTTPS: *httpsAddr, HTTP3: *http3, TCP: *tcpAddr, UDP: *udpAddr, DNS: *dnsAddr,
		DoT: *dotAddr, Proxy: *proxyAddr, ProxyAuth: *proxyAuth, CertFile: *cert, KeyFile: *key, CAOut: *caOut, ClientCAFile: *clientCA, ClientCertOptional: *optional}
	var err error
	if cfg.TLSMinVersion, err = target.ParseTLSVersion(*tlsMin); err == nil {
		cfg.TLSMaxVersion, err = target.ParseTLSVersion(*tlsMax)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ntx serve: %v\n", err)
		return exitInvalid
	}
	srv, err := target.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "ntx serve: %v\n", err)
		return exitDied
	}
	defer srv.Close()
	// Listen for signals before saying the target is up: a caller that
	// reads the line and interrupts at once must stop it, not kill it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	fmt.Fprintf(stdout, "ntx target: http %s, https %s, http/3 %s, tcp echo %s, udp echo %s, dns %s, dns over tls %s, proxy %s\n",
		orOff(srv.HTTPAddr()), orOff(srv.HTTPSAddr()), orOff(srv.HTTP3Addr()), orOff(srv.TCPAddr()), orOff(srv.UDPAddr()),
		orOff(srv.DNSAddr()), orOff(srv.DoTAddr()), orOff(srv.ProxyAddr()))
	if cfg.CAOut != "" {
		fmt.Fprintf(stdout, "ntx target: CA written to %s\n", cfg.CAOut)
	}
	// The scenarios under testdata/ find the target through these.
	var vars []string
	for name, addr := range srv.Env() {
		if addr != "" {
			vars = append(vars, name+"="+addr)
		}
	}
	slices.Sort(vars)
	fmt.Fprintf(stdout, "ntx target: for the scenarios under testdata/valid/: export %s\n", strings.Join(vars, " "))
	<-sigs
	return exitPassed
}

func orOff(s string) string {
	if s == "" {
		return "off"
	}
	return s
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", "Prints the version of ntx.", stderr)
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	fmt.Fprintf(stdout, "ntx %s\n", version)
	return exitPassed
}
