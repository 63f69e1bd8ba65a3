package watch

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestGrafanaDashboard: scripts/grafana-dashboard.json is a dashboard
// whose every query names only metrics that --metrics exposes, and that
// shows each of them.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("../../scripts/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	exposed := map[string]bool{}
	ch := make(chan *prometheus.Desc, 32)
	NewMetrics("").Describe(ch)
	close(ch)
	for desc := range ch {
		name := regexp.MustCompile(`fqName: "([a-z_]+)"`).FindStringSubmatch(desc.String())[1]
		exposed[name] = true
	}
	used := map[string]bool{}
	name := regexp.MustCompile(`ntx_[a-z_]+`)
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, n := range name.FindAllString(q.Expr, -1) {
				base := strings.TrimSuffix(n, "_bucket")
				if !exposed[base] {
					t.Errorf("panel %q queries %s, which --metrics does not expose", p.Title, n)
				}
				used[base] = true
			}
		}
	}
	for n := range exposed {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
}
