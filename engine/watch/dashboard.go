package watch

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ntx-dev/ntx/engine/internal/report"
)

// Dashboard is the live page of a run: the report's page, redrawn every
// second from Server-Sent Events, each the report's view of the result
// so far. When the run ends it sends the final view and an "end" event,
// and the final report can be downloaded from /report.html.
type Dashboard struct {
	mu      sync.Mutex
	result  *report.Result
	view    []byte // the latest view, as JSON
	final   bool
	version int
	changed chan struct{} // closed and replaced at each update
}

// NewDashboard returns a dashboard with nothing to show yet.
func NewDashboard() *Dashboard {
	return &Dashboard{changed: make(chan struct{}), view: []byte(`{}`)}
}

// Update shows r, the result so far; final says the run is over.
func (d *Dashboard) Update(r *report.Result, final bool) {
	v := report.NewView(r)
	v.Live = !final
	if final {
		v.LiveReport = "report.html"
	}
	b := v.JSON()
	d.mu.Lock()
	if d.final {
		d.mu.Unlock()
		return
	}
	d.result, d.view, d.final = r, b, final
	d.version++
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
}

func (d *Dashboard) state() (view []byte, version int, final bool, changed chan struct{}, r *report.Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.view, d.version, d.final, d.changed, d.result
}

// Handler serves the page at /, its events at /events and the report of
// the result so far (the final one once the run is over) at /report.html.
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		_, _, _, _, r := d.state()
		if r == nil {
			r = &report.Result{Scenario: "starting"}
		}
		v := report.NewView(r)
		v.Live = true
		var b bytes.Buffer
		if err := report.WriteLivePage(&b, r.Scenario, v, "events"); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /report.html", func(w http.ResponseWriter, _ *http.Request) {
		_, _, final, _, r := d.state()
		if r == nil {
			http.Error(w, "the run has not started yet", http.StatusServiceUnavailable)
			return
		}
		var b bytes.Buffer
		if err := r.WriteHTML(&b); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if final {
			w.Header().Set("Content-Disposition", `attachment; filename="report.html"`)
		}
		_, _ = w.Write(b.Bytes())
	})
	mux.HandleFunc("GET /events", d.events)
	return mux
}

// keepAlive is how often an idle event stream gets a comment, so that
// proxies and browsers keep it open.
const keepAlive = 15 * time.Second

// events streams the view: the current one at once, then each new one.
func (d *Dashboard) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	sent := -1
	for {
		view, version, final, changed, _ := d.state()
		if version != sent {
			sent = version
			event := "message"
			if final {
				event = "end"
			}
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, view); err != nil {
				return
			}
			fl.Flush()
			if final {
				return
			}
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		case <-time.After(keepAlive):
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
