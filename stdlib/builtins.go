package stdlib

import (
	"errors"
	"fmt"
	"strings"
	gotime "time"
	"unicode/utf8"

	"go.starlark.net/lib/math"
	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/ntx-dev/ntx/engine/metrics"
)

// Predeclared returns the names every scenario program sees, less the
// per-run `vars`, which the runtime adds. The values are frozen and may
// be shared by every user's thread.
func Predeclared() starlark.StringDict {
	d := starlark.StringDict{
		"http":       httpModule(),
		"tcp":        tcpModule(),
		"udp":        udpModule(),
		"sleep":      starlark.NewBuiltin("sleep", sleep),
		"check":      starlark.NewBuiltin("check", check),
		"fail":       starlark.NewBuiltin("fail", failBuiltin),
		"log":        starlark.NewBuiltin("log", logBuiltin),
		"results":    starlark.NewBuiltin("results", newResults),
		"run_action": starlark.NewBuiltin("run_action", runAction),
		"struct":     starlark.NewBuiltin("struct", starlarkstruct.Make),
		"json":       jsonModule(),
		"str":        boundedBuiltin(universeStr),
		"repr":       boundedBuiltin(universeRepr),
		"print":      boundedBuiltin(universePrint),
		"time":       starlarktime.Module,
		"math":       math.Module,
		"env":        Env,
		"random":     randomModule(),
		"dns":        dnsModule(),
		"ws":         wsModule(),
	}
	d.Freeze()
	return d
}

type sleepArgs struct{ duration starlark.Value }

var sleepParams = bindParams("sleep", map[string]func(*sleepArgs) any{
	"duration": func(a *sleepArgs) any { return &a.duration },
})

// sleep(duration) pauses the user; the end of the run interrupts it.
func sleep(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a sleepArgs
	if err := sleepParams.unpack(b.Name(), args, kwargs, &a); err != nil {
		return nil, err
	}
	d, err := durationArg(b.Name(), "duration", a.duration, 0)
	if err != nil {
		return nil, err
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	t := gotime.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return starlark.None, nil
	case <-sess.Ctx.Done():
		return nil, fmt.Errorf("sleep: interrupted: the run is ending")
	}
}

type checkArgs struct {
	cond starlark.Value
	name string
}

var checkParams = bindParams("check", map[string]func(*checkArgs) any{
	"cond": func(a *checkArgs) any { return &a.cond },
	"name": func(a *checkArgs) any { return &a.name },
})

// check(cond, name) records a named check and returns cond's truth. A
// failed check does not stop the iteration; it fails the run's verdict.
func check(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var a checkArgs
	if err := checkParams.unpack(b.Name(), args, kwargs, &a); err != nil {
		return nil, err
	}
	cond, name := a.cond, a.name
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	ok := bool(cond.Truth())
	sess.Sink.Check(name, ok)
	return starlark.Bool(ok), nil
}

// fail(*args, reason="fail") ends the iteration as failed, counted under
// reason. It replaces Starlark's own fail, which takes no reason.
func failBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	reason := "fail"
	for _, kv := range kwargs {
		k, _ := starlark.AsString(kv[0])
		if k != "reason" {
			return nil, fmt.Errorf("fail: unexpected keyword argument %q", k)
		}
		s, ok := starlark.AsString(kv[1])
		if !ok || s == "" {
			return nil, fmt.Errorf("fail: reason must be a non-empty string")
		}
		reason = s
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = str(a)
	}
	msg := strings.Join(parts, " ")
	if msg == "" {
		msg = reason
	}
	return nil, &IterationFailure{Reason: reason, Msg: msg}
}

// log(*args) writes a line to the run's log, tagged with the user.
func logBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("log: unexpected keyword argument %s (log takes none)", kwargs[0][0])
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	if sess.Log != nil {
		// Copy at most MaxLogLine bytes: a 200 MB argument costs no
		// second 200 MB, and the log gets a line a reader can use.
		var line strings.Builder
		total := 0
		for i, a := range args {
			v := str(a)
			if i > 0 {
				total++
				if line.Len() < MaxLogLine {
					line.WriteByte(' ')
				}
			}
			total += len(v)
			if room := MaxLogLine - line.Len(); room > 0 {
				line.WriteString(v[:cutAt(v, room)])
			}
		}
		sess.Log(fmt.Sprintf("user %d: %s", sess.User.ID, noteCut(line.String(), total)))
	}
	return starlark.None, nil
}

// MaxLogLine is the most bytes of one log() or print() message that
// reach the log; the rest is cut, and the line says how long it was.
const MaxLogLine = 64 << 10

// ClipLogLine cuts s to MaxLogLine bytes, on a UTF-8 boundary, saying so
// when it cuts.
func ClipLogLine(s string) string { return noteCut(s[:cutAt(s, MaxLogLine)], len(s)) }

// cutAt is where to cut s to at most max bytes without splitting a
// character.
func cutAt(s string, max int) int {
	if len(s) <= max {
		return len(s)
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return max
}

func noteCut(kept string, total int) string {
	if len(kept) >= total {
		return kept
	}
	return fmt.Sprintf("%s... [cut: %d of %d bytes shown]", kept, len(kept), total)
}

// run_action(name, fn, ctx, **kwargs) calls a custom action fn(ctx,
// **kwargs) and measures it as action name. fn returns a dict or struct
// (or None): its `ok` field, default True, decides success and the other
// fields become exports. An error raised in fn fails the action with the
// error's text; the iteration goes on.
func runAction(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("run_action: want (name, fn, ctx, **kwargs), got %d positional arguments", len(args))
	}
	name, ok := starlark.AsString(args[0])
	if !ok {
		return nil, fmt.Errorf("run_action: name must be a string")
	}
	fn, ok := args[1].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("run_action: %s is not callable", args[1].Type())
	}
	sess, err := session(thread, b.Name())
	if err != nil {
		return nil, err
	}
	var exportArg starlark.Value
	pass := kwargs[:0:0]
	for _, kv := range kwargs {
		if k, _ := starlark.AsString(kv[0]); k == "export" {
			exportArg = kv[1]
			continue
		}
		pass = append(pass, kv)
	}
	exports, err := parseExports(b.Name(), exportArg)
	if err != nil {
		return nil, err
	}
	start := gotime.Now()
	v, callErr := starlark.Call(thread, fn, starlark.Tuple{args[2]}, pass)
	latency := gotime.Since(start)
	res := &Result{Name: name, OK: true, LatencyMS: float64(latency) / 1e6, SourceIP: sess.User.AllocatedIP}
	s := &metrics.Sample{Name: name, Kind: "custom", Start: start, Latency: latency}
	if callErr != nil {
		var ee *starlark.EvalError
		if sess.Ctx.Err() != nil || (errors.As(callErr, &ee) && strings.Contains(ee.Msg, "too many steps")) || endsIteration(callErr) {
			return nil, callErr // the run is ending or the script runs away: not the action's fault
		}
		res.OK, res.Err, s.ErrKind = false, errText(callErr), metrics.KindError
	} else if err := res.takeFields(v); err != nil {
		res.OK, res.Err, s.ErrKind = false, fmt.Sprintf("%s returned %v", fn.Name(), err), metrics.KindError
	} else if !res.OK {
		s.ErrKind = metrics.KindNotOK
		if res.Err == "" {
			res.Err = "the action returned ok = False"
		}
	}
	if len(exports) > 0 {
		fields := starlark.NewDict(len(res.Exports))
		for k, x := range res.Exports {
			_ = fields.SetKey(starlark.String(k), x)
		}
		if msg := applyExports(sess, res, exports, func() starlark.Value { return fields }); msg != "" && res.OK {
			res.OK, res.Err, s.ErrKind = false, msg, metrics.KindAssert
		}
	}
	s.OK, s.Err = res.OK, res.Err
	if s.ErrKind == metrics.KindError && callErr != nil {
		// The report names the line that raised, in the module that
		// defines the action (the user's own file); the script's
		// result.error stays the bare message.
		s.Err = errWhere(callErr) + s.Err
	}
	sess.Sink.Record(s)
	return res, nil
}

// endsIteration reports whether err says the iteration cannot go on, for
// a reason that is not the action's: a dataset with no rows left. Such
// an error has a method EndsIteration() bool that returns true.
func endsIteration(err error) bool {
	var e interface{ EndsIteration() bool }
	return errors.As(err, &e) && e.EndsIteration()
}

// takeFields reads a custom action's return value into the result.
func (r *Result) takeFields(v starlark.Value) error {
	set := func(k string, x starlark.Value) {
		switch k {
		case "ok":
			r.OK = bool(x.Truth())
		case "error":
			r.Err = str(x)
		default:
			if r.Exports == nil {
				r.Exports = map[string]starlark.Value{}
			}
			r.Exports[k] = x
		}
	}
	switch v := v.(type) {
	case starlark.NoneType:
	case *starlark.Dict:
		for _, kv := range v.Items() {
			k, ok := starlark.AsString(kv[0])
			if !ok {
				return fmt.Errorf("a dict with a non-string key %s", formatValue(kv[0]))
			}
			set(k, kv[1])
		}
	case *starlarkstruct.Struct:
		for _, k := range v.AttrNames() {
			x, _ := v.Attr(k)
			set(k, x)
		}
	default:
		return fmt.Errorf("%s, not a dict, struct or None", v.Type())
	}
	return nil
}

// errText is the message of an error raised in Starlark, without the
// backtrace.
// errWhere is "FILE:LINE:COL: " of the innermost frame of a Starlark
// error with a position, or "".
func errWhere(err error) string {
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return ""
	}
	for i := len(ee.CallStack) - 1; i >= 0; i-- {
		if p := ee.CallStack[i].Pos; p.IsValid() && p.Line > 0 {
			return p.String() + ": "
		}
	}
	return ""
}

func errText(err error) string {
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		return ee.Msg
	}
	return err.Error()
}
