package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ntx-dev/ntx/engine"
	"github.com/ntx-dev/ntx/engine/watch"
)

// watcher serves --metrics and --dashboard while a run lasts, and for
// --linger after it.
type watcher struct {
	metrics *watch.Metrics
	dash    *watch.Dashboard
	servers []*http.Server
	linger  time.Duration
	stderr  io.Writer
}

// startWatch listens on the addresses given (either may be empty) and
// says where on stderr. It returns nil when neither is asked for.
func startWatch(metricsAddr, dashAddr, segment string, linger time.Duration, stderr io.Writer) (*watcher, error) {
	if metricsAddr == "" && dashAddr == "" {
		return nil, nil
	}
	w := &watcher{linger: linger, stderr: stderr}
	serve := func(flag, addr, path string, h http.Handler) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s %s: %w", flag, addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		w.servers = append(w.servers, srv)
		go func() { _ = srv.Serve(ln) }()
		fmt.Fprintf(stderr, "ntx: %s at http://%s%s\n", flag[2:], ln.Addr(), path)
		return nil
	}
	if metricsAddr != "" {
		w.metrics = watch.NewMetrics(segment)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", w.metrics.Handler())
		if err := serve("--metrics", metricsAddr, "/metrics", mux); err != nil {
			w.close()
			return nil, err
		}
	}
	if dashAddr != "" {
		w.dash = watch.NewDashboard()
		if err := serve("--dashboard", dashAddr, "/", w.dash.Handler()); err != nil {
			w.close()
			return nil, err
		}
	}
	return w, nil
}

// snapshot chains next (a fleet's, if any) with the watcher's update: it
// is the runtime's Snapshot hook, called about once a second.
func (w *watcher) snapshot(next func(*engine.Result)) func(*engine.Result) {
	return func(r *engine.Result) {
		if next != nil {
			next(r)
		}
		w.update(r, false)
	}
}

func (w *watcher) update(r *engine.Result, final bool) {
	if w.metrics != nil {
		w.metrics.Update(r)
	}
	if w.dash != nil {
		w.dash.Update(r, final)
	}
}

// finish shows the final result, keeps serving it for the linger time
// (a Ctrl-C ends that at once), then stops.
func (w *watcher) finish(r *engine.Result) {
	w.update(r, true)
	if w.linger > 0 {
		fmt.Fprintf(w.stderr, "ntx: serving the final state for %s (Ctrl-C to quit now)\n", w.linger)
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		select {
		case <-time.After(w.linger):
		case <-sigs:
		}
		signal.Stop(sigs)
	}
	w.close()
}

func (w *watcher) close() {
	for _, s := range w.servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			_ = s.Close()
		}
		cancel()
		_ = s.Close()
	}
}
