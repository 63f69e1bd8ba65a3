package report

import (
	_ "embed"
	"io"
	"strings"
	"text/template"
)

//go:embed report.html.tmpl
var htmlTemplate string

//go:embed report.js
var reportJS string

// The page is assembled with text/template: its only dynamic parts are
// the scenario's name, escaped here, and the view's JSON, which
// encoding/json has made safe to place inside a <script> element.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"html": template.HTMLEscapeString,
}).Parse(htmlTemplate))

// pageData is what the template fills in.
type pageData struct {
	Title  string
	Data   string // the View, as JSON
	Script string // the renderer
	Live   string // the dashboard's event stream URL; empty in a report
}

// WriteHTML writes the result as one self-contained HTML page: the data
// and the script that draws it inline, charts as SVG made by that script,
// no fonts, styles or scripts from elsewhere, so that it opens offline in
// any browser and can be mailed as is. The same result always gives the
// same bytes: a run's --report and `ntx report` of its --out are equal.
func (r *Result) WriteHTML(w io.Writer) error {
	return writePage(w, r.Scenario, string(NewView(r).JSON()), "")
}

// WriteLivePage writes the live dashboard's page: the report's page,
// with the data of the run so far, that follows the Server-Sent Events
// at events (each a View's JSON) and redraws itself.
func WriteLivePage(w io.Writer, scenario string, v *View, events string) error {
	return writePage(w, scenario, string(v.JSON()), events)
}

func writePage(w io.Writer, title, data, live string) error {
	return page.Execute(w, pageData{Title: title, Data: data, Script: reportJS, Live: strings.ReplaceAll(live, `"`, "")})
}
