package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/scenario"
	"github.com/ntx-dev/ntx/engine/target"
)

// newFlags makes a subcommand's flag set.
func newFlags(name, args, summary string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ntx %s %s\n\n%s\n\nFlags:\n%s", name, args, summary, fs.FlagUsages())
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
	seed := fs.Uint64("seed", 1, "seed for random address allocation and think times")
	maxSteps := fs.Uint64("max-steps", 0, "Starlark steps one iteration may take (default 10000000)")
	users := fs.Int("users", 0, "start this many users at once instead of the ramp-up phases")
	iterations := fs.Int("iterations", 0, "iterations per user, overriding user_lifetime")
	duration := fs.Duration("duration", 0, "stop starting iterations after this long, e.g. 30s")
	rateFlag := fs.String("rate", "", "run the open model at this arrival `RATE` (e.g. 200/s), replacing the ramp-up")
	htmlOut := fs.String("report", "", "write a self-contained HTML report to `FILE.html`")
	quiet := fs.BoolP("quiet", "q", false, "print no progress and no script log lines")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to `FILE` (for performance work)")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return exitInvalid
	}
	if *users < 0 || *iterations < 0 || *duration < 0 {
		fmt.Fprintln(stderr, "ntx exec: --users, --iterations and --duration must not be negative")
		return exitInvalid
	}
	opts := engine.Options{}
	opts.Seed, opts.MaxSteps = *seed, *maxSteps
	opts.Users, opts.Iterations, opts.Duration = *users, *iterations, *duration
	if *rateFlag != "" {
		r, err := scenario.ParseRate(*rateFlag)
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
	prog, err := engine.Load(file, nil, opts)
	if err != nil {
		return reportErr(stderr, err)
	}
	for _, w := range prog.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", w.Pos, w.Msg)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "ntx: stopping: in-flight iterations get graceful_stop; interrupt again to quit at once")
		cancel()
		if _, ok := <-sigs; ok {
			fmt.Fprintln(stderr, "ntx: interrupted")
			os.Exit(exitDied)
		}
	}()

	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "ntx exec: --cpuprofile: %v\n", err)
			return exitInvalid
		}
		defer stop()
	}
	res, err := prog.Run(ctx, opts.Options)
	if err != nil {
		return reportErr(stderr, err)
	}
	res.WriteSummary(stdout)
	for _, w := range []struct {
		path  string
		write func(io.Writer) error
	}{{*out, res.WriteJSON}, {*htmlOut, res.WriteHTML}} {
		if w.path == "" {
			continue
		}
		if err := writeFileWith(w.path, w.write); err != nil {
			fmt.Fprintf(stderr, "ntx exec: writing %s: %v\n", w.path, err)
			return exitDied
		}
	}
	if !res.Passed {
		return exitFailed
	}
	return exitPassed
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

// writeFileWith creates path and fills it with write.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "FILE", "Checks a scenario and prints every problem at FILE:LINE:COL; runs nothing.", stderr)
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return exitInvalid
	}
	prog, err := engine.Load(file, nil, engine.Options{})
	if err != nil {
		return reportErr(stderr, err)
	}
	for _, w := range prog.Warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", w.Pos, w.Msg)
	}
	fmt.Fprintf(stdout, "%s: ok\n", file)
	return exitPassed
}

func cmdCompile(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("compile", "FILE.yaml", "Prints the Starlark program a YAML scenario compiles to. Running it with\n'ntx exec' behaves exactly like running the YAML.", stderr)
	out := fs.StringP("out", "o", "", "write the program to `FILE.star` instead of standard output")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	file, ok := oneFile(fs, stderr)
	if !ok {
		return exitInvalid
	}
	src, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "%s: cannot read the scenario: %v\n", file, errors.Unwrap(err))
		return exitInvalid
	}
	code, err := engine.Compile(file, src)
	if err != nil {
		return reportErr(stderr, err)
	}
	if *out == "" {
		fmt.Fprint(stdout, code)
		return exitPassed
	}
	if err := os.WriteFile(*out, []byte(code), 0o644); err != nil {
		fmt.Fprintf(stderr, "ntx compile: %v\n", err)
		return exitDied
	}
	return exitPassed
}

func cmdServe(args []string, stdout, stderr io.Writer) int {
	def := target.DefaultConfig()
	fs := newFlags("serve", "[flags]", "Starts the built-in demo target: HTTP, a TCP line echo and a UDP echo, on loopback,\nuntil interrupted.", stderr)
	httpAddr := fs.String("http", def.HTTP, "HTTP listen address (empty to disable)")
	tcpAddr := fs.String("tcp", def.TCP, "TCP line-echo listen address (empty to disable)")
	udpAddr := fs.String("udp", def.UDP, "UDP echo listen address (empty to disable)")
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "ntx serve: takes no arguments\n")
		return exitInvalid
	}
	srv, err := target.Start(target.Config{HTTP: *httpAddr, TCP: *tcpAddr, UDP: *udpAddr})
	if err != nil {
		fmt.Fprintf(stderr, "ntx serve: %v\n", err)
		return exitDied
	}
	defer srv.Close()
	fmt.Fprintf(stdout, "ntx target: http %s, tcp echo %s, udp echo %s\n", orOff(srv.HTTPAddr()), orOff(srv.TCPAddr()), orOff(srv.UDPAddr()))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
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
