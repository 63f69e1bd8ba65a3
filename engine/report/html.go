package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":     func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"counts": func(m map[string]int64) string { return strings.TrimPrefix(counts(m), " ") },
	"pct": func(part, whole int64) string {
		if whole == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
	},
	"dur": func(ms float64) string {
		return time.Duration(ms * float64(time.Millisecond)).Round(time.Millisecond).String()
	},
}).Parse(htmlTemplate))

// htmlView is what the template renders.
type htmlView struct {
	*Result
	ActionNames []string
	SourceNames []string
	Throughput  template.HTML
	Latency     template.HTML
	UsersChart  template.HTML
	Generated   string
}

// WriteHTML writes the result as one self-contained HTML page: no
// scripts, no fonts or styles from elsewhere, charts as inline SVG, so
// that it opens offline in any browser and can be mailed as is.
func (r *Result) WriteHTML(w io.Writer) error {
	v := htmlView{Result: r, ActionNames: sortedKeys(r.Actions), SourceNames: sortedAddrs(r.SourceIPs),
		Generated: r.StartedAt.Format(time.RFC3339)}
	ts := make([]float64, len(r.Series))
	var rps, errs, p50, p95, p99, users []float64
	prev := 0.0
	for i, p := range r.Series {
		ts[i] = p.T
		rps = append(rps, p.RPS)
		span := p.T - prev
		prev = p.T
		e := 0.0
		if span > 0 {
			e = float64(p.Errors) / span
		}
		errs = append(errs, e)
		p50, p95, p99 = append(p50, p.P50), append(p95, p.P95), append(p99, p.P99)
		users = append(users, float64(p.Active))
	}
	v.Throughput = chart("Throughput", "requests/s", ts, []line{{"requests/s", "#2563eb", rps}, {"errors/s", "#dc2626", errs}})
	v.Latency = chart("Latency", "ms", ts, []line{{"p50", "#16a34a", p50}, {"p95", "#d97706", p95}, {"p99", "#dc2626", p99}})
	v.UsersChart = chart("Active users", "users", ts, []line{{"active users", "#7c3aed", users}})
	return page.Execute(w, v)
}

// line is one series of a chart.
type line struct {
	name   string
	color  string
	values []float64
}

// chart draws a line chart as inline SVG.
func chart(title, unit string, ts []float64, lines []line) template.HTML {
	const w, h, left, right, top, bottom = 760.0, 230.0, 58.0, 12.0, 28.0, 36.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="18" class="title">%s (%s)</text>`, left, template.HTMLEscapeString(title), template.HTMLEscapeString(unit))
	if len(ts) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="axis">no data: the run was shorter than a second</text></svg>`, left, h/2)
		return template.HTML(b.String())
	}
	maxT := ts[len(ts)-1]
	maxY := 0.0
	for _, l := range lines {
		for _, v := range l.values {
			maxY = math.Max(maxY, v)
		}
	}
	maxY = niceCeil(maxY)
	x := func(t float64) float64 {
		if maxT == 0 {
			return left
		}
		return left + (w-left-right)*t/maxT
	}
	y := func(v float64) float64 { return top + (h-top-bottom)*(1-v/maxY) }
	for i := 0; i <= 4; i++ {
		v := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="grid"/>`, left, w-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="end">%s</text>`, left-6, y(v)+4, short(v))
	}
	for i := 0; i <= 5; i++ {
		t := maxT * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="axis" text-anchor="middle">%ss</text>`, x(t), h-bottom+18, short(t))
	}
	for li, l := range lines {
		pts := make([]string, len(l.values))
		for i, v := range l.values {
			pts[i] = fmt.Sprintf("%.1f,%.1f", x(ts[i]), y(v))
		}
		if len(pts) == 1 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x(ts[0]), y(l.values[0]), l.color)
		} else {
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, l.color, strings.Join(pts, " "))
		}
		lx := w - right - float64(len(lines)-li)*120
		fmt.Fprintf(&b, `<rect x="%.0f" y="9" width="12" height="4" fill="%s"/><text x="%.0f" y="16" class="axis">%s</text>`,
			lx, l.color, lx+16, template.HTMLEscapeString(l.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
