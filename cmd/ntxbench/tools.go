package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Where nginx listens (scripts/bench/nginx.conf).
const (
	plainAddr = "127.0.0.1:18090"
	tlsAddr   = "127.0.0.1:18443"
	plainURL  = "http://" + plainAddr + "/"
	tlsURL    = "https://" + tlsAddr + "/"
	// locustPort is where Locust's master listens for its workers.
	locustPort = "18557"
)

// A workload is one of the things every tool that can do it is asked to
// do, each tool in its own way.
type workload struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Conns int    `json:"connections"`
}

var workloads = []workload{
	{"get10", "one GET, 10 connections, keep-alive", 10},
	{"get50", "one GET, 50 connections, keep-alive", 50},
	{"get500", "one GET, 500 connections, keep-alive", 500},
	{"flow", "two steps: POST /login, then GET /item?token=… with the token from the login's JSON body; 50 users", 50},
	{"https", "HTTPS keep-alive (TLS 1.3, ECDSA P-256), HTTP/1.1, 50 connections", 50},
	{"handshake", "HTTPS, a new connection and full TLS handshake for every request (no resumption), 50 connections", 50},
	{"h2", "HTTP/2 over TLS, 50 connections, one stream at a time on each", 50},
}

func workloadByID(id string) (workload, bool) {
	for _, w := range workloads {
		if w.ID == id {
			return w, true
		}
	}
	return workload{}, false
}

// env is what building a tool's command line needs.
type env struct {
	dir     string // scripts/bench, absolute
	bin     string // bin/, absolute
	ntx     string
	scratch string // this run's own directory
	secs    int
	cores   int
}

// invocation is one run of a tool: its command, and how to read what
// it reported once it has exited.
type invocation struct {
	argv  []string
	env   []string
	parse func(stdout string) (measured, error)
}

func (iv *invocation) command() *exec.Cmd {
	c := exec.Command(iv.argv[0], iv.argv[1:]...)
	c.Env = append(os.Environ(), iv.env...)
	return c
}

// commandLine is the invocation as a shell line, for the record.
func (iv *invocation) commandLine() string {
	var b strings.Builder
	for _, e := range iv.env {
		b.WriteString(e + " ")
	}
	for i, a := range iv.argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if strings.ContainsAny(a, " \"'$;&|<>*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

// A tool is a load generator that ntxbench runs. build returns nil when
// the tool has no way to do the workload (or is not asked to).
type tool struct {
	Name  string
	Label string
	// find says where the tool is, or why it cannot be run.
	find  func(e *env) (path, reason string)
	build func(e *env, path string, w workload) *invocation
}

func fileParse(path string, p func(string) (measured, error)) func(string) (measured, error) {
	return func(string) (measured, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return newMeasured(), err
		}
		return p(string(b))
	}
}

func lookPath(name string) func(*env) (string, string) {
	return func(*env) (string, string) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", name + " is not installed"
		}
		return p, ""
	}
}

func inBin(rel string) func(*env) (string, string) {
	return func(e *env) (string, string) {
		p := filepath.Join(e.bin, rel)
		if _, err := os.Stat(p); err != nil {
			return "", rel + " is not installed"
		}
		return p, ""
	}
}

// locustFind needs Debian's Locust, run by the system's python3 (the
// one its package is installed for).
func locustFind(*env) (string, string) {
	if err := exec.Command("/usr/bin/python3", "-c", "import locust.main").Run(); err != nil {
		return "", "Locust is not installed for /usr/bin/python3 (Debian's python3-locust)"
	}
	return "/usr/bin/python3", ""
}

func secs(e *env) string { return strconv.Itoa(e.secs) + "s" }

func is(w workload, ids ...string) bool {
	for _, id := range ids {
		if w.ID == id {
			return true
		}
	}
	return false
}

func conns(w workload) string { return strconv.Itoa(w.Conns) }

// The tools, in the order the tables list them. ntx-yaml is the
// reference every ratio is taken against (ntx-star the second one).
var tools = []tool{
	{Name: "ntx-yaml", Label: "ntx, YAML", find: ntxFind, build: func(e *env, p string, w workload) *invocation {
		file := map[string]string{"get10": "bench.yaml", "get50": "bench.yaml", "get500": "bench.yaml", "flow": "flow.yaml",
			"https": "https.yaml", "handshake": "handshake.yaml", "h2": "h2.yaml"}[w.ID]
		return ntxRun(e, p, file, w)
	}},
	{Name: "ntx-star", Label: "ntx, `.star`", find: ntxFind, build: func(e *env, p string, w workload) *invocation {
		file := map[string]string{"get10": "bench.star", "get50": "bench.star", "get500": "bench.star", "flow": "flow.star"}[w.ID]
		return ntxRun(e, p, file, w)
	}},
	{Name: "ntx-custom", Label: "ntx, custom action", find: ntxFind, build: func(e *env, p string, w workload) *invocation {
		if !is(w, "get50", "get500") {
			return nil
		}
		return ntxRun(e, p, "bench_custom.yaml", w)
	}},
	// The same YAML run held to one core: with ntx-yaml (two) it gives
	// requests per CPU-second at 1 and 2 Ps, the measure of what more
	// cores add (docs/benchmarks.md, "Cores").
	{Name: "ntx-yaml-p1", Label: "ntx, YAML, GOMAXPROCS=1", find: ntxFind, build: func(e *env, p string, w workload) *invocation {
		if !is(w, "get50", "get500") {
			return nil
		}
		iv := ntxRun(e, p, "bench.yaml", w)
		iv.env = append(iv.env, "GOMAXPROCS=1")
		return iv
	}},
	{Name: "wrk", Label: "wrk", find: lookPath("wrk"), build: func(e *env, p string, w workload) *invocation {
		args := []string{p, "-t" + strconv.Itoa(min(e.cores, w.Conns)), "-c" + conns(w), "-d" + secs(e), "--latency"}
		switch w.ID {
		case "get10", "get50", "get500":
			args = append(args, plainURL)
		case "https":
			args = append(args, tlsURL)
		case "handshake":
			// wrk reconnects after every close: one handshake a request.
			args = append(args, "-H", "Connection: close", tlsURL)
		default:
			return nil
		}
		return &invocation{argv: args, parse: parseWrk}
	}},
	{Name: "bombardier", Label: "bombardier", find: inBin("bombardier"), build: func(e *env, p string, w workload) *invocation {
		args := []string{p, "-c", conns(w), "-d", secs(e), "-l", "-p", "r", "-o", "json"}
		switch w.ID {
		case "get10", "get50", "get500":
			args = append(args, plainURL)
		case "https":
			args = append(args, "-k", tlsURL)
		default:
			return nil
		}
		return &invocation{argv: args, parse: parseBombardier}
	}},
	{Name: "h2load", Label: "h2load", find: lookPath("h2load"), build: func(e *env, p string, w workload) *invocation {
		args := []string{p, "-c", conns(w), "-t", strconv.Itoa(e.cores), "-D", strconv.Itoa(e.secs)}
		switch w.ID {
		case "get50", "get500":
			args = append(args, "--h1", plainURL)
		case "https":
			args = append(args, "--h1", tlsURL)
		case "h2":
			args = append(args, "-m", "1", tlsURL)
		default:
			// h2load does not reconnect after a "Connection: close":
			// it waits for the run's end. No handshake loop from it.
			return nil
		}
		return &invocation{argv: args, parse: parseH2load}
	}},
	{Name: "hey", Label: "hey", find: inBin("hey"), build: func(e *env, p string, w workload) *invocation {
		args := []string{p, "-z", secs(e), "-c", conns(w)}
		switch w.ID {
		case "get50", "get500":
			args = append(args, plainURL)
		case "https":
			args = append(args, tlsURL)
		case "handshake":
			args = append(args, "-disable-keepalive", tlsURL)
		default:
			return nil
		}
		return &invocation{argv: args, parse: parseHey}
	}},
	{Name: "vegeta", Label: "vegeta", find: inBin("vegeta"), build: func(e *env, p string, w workload) *invocation {
		url := plainURL
		switch w.ID {
		case "get50", "get500":
		case "https":
			url = tlsURL
		default:
			return nil
		}
		targets := filepath.Join(e.scratch, "vegeta-targets.txt")
		out := filepath.Join(e.scratch, "vegeta.bin")
		if err := os.WriteFile(targets, []byte("GET "+url+"\n"), 0o644); err != nil {
			return nil
		}
		// As fast as it can with this many workers (-rate=0). The report
		// is made afterwards, outside the measurement.
		return &invocation{
			argv: []string{p, "attack", "-insecure", "-targets", targets, "-rate=0", "-workers", conns(w), "-max-workers", conns(w),
				"-duration", secs(e), "-output", out},
			parse: func(string) (measured, error) {
				b, err := exec.Command(p, "report", "-type=json", out).Output()
				if err != nil {
					return newMeasured(), fmt.Errorf("vegeta report: %w", err)
				}
				return parseVegeta(string(b))
			},
		}
	}},
	{Name: "autocannon", Label: "autocannon", find: inBin("npm/node_modules/.bin/autocannon"), build: func(e *env, p string, w workload) *invocation {
		if !is(w, "get50", "get500") {
			return nil
		}
		return &invocation{argv: []string{p, "-c", conns(w), "-d", strconv.Itoa(e.secs), "-j", plainURL}, parse: parseAutocannon}
	}},
	{Name: "locust-1", Label: "Locust FastHttpUser, 1 process", find: locustFind, build: func(e *env, p string, w workload) *invocation {
		if !is(w, "get50", "flow") {
			return nil
		}
		return locustRun(e, p, w, 1)
	}},
	{Name: "locust-n", Label: "Locust FastHttpUser, one process per core", find: locustFind, build: func(e *env, p string, w workload) *invocation {
		if !is(w, "get50", "flow") {
			return nil
		}
		return locustRun(e, p, w, e.cores)
	}},
	{Name: "artillery", Label: "Artillery", find: inBin("npm/node_modules/.bin/artillery"), build: artilleryRun},
	{Name: "tsung", Label: "Tsung", find: lookPath("tsung"), build: tsungRun},
	{Name: "s_time", Label: "openssl s_time, one process per core", find: lookPath("openssl"), build: func(e *env, p string, w workload) *invocation {
		if !is(w, "handshake") {
			return nil
		}
		// s_time connects, handshakes in full (-new), GETs / and closes,
		// one connection at a time: one process per core.
		script := "for i in $(seq " + strconv.Itoa(e.cores) + "); do " + p + " s_time -connect " + tlsAddr +
			" -new -www / -time " + strconv.Itoa(e.secs) + " & done; wait"
		seconds := float64(e.secs)
		return &invocation{argv: []string{"/bin/sh", "-c", script}, parse: func(out string) (measured, error) { return parseSTime(out, seconds) }}
	}},
}

func toolByName(name string) (tool, bool) {
	for _, t := range tools {
		if t.Name == name {
			return t, true
		}
	}
	return tool{}, false
}

func ntxFind(e *env) (string, string) {
	if _, err := os.Stat(e.ntx); err != nil {
		return "", e.ntx + " is not built (make build)"
	}
	return e.ntx, ""
}

func ntxRun(e *env, p, file string, w workload) *invocation {
	if file == "" {
		return nil
	}
	out := filepath.Join(e.scratch, "ntx.json")
	return &invocation{
		argv:  []string{p, "exec", "--quiet", "--out", out, filepath.Join(e.dir, file), "--users", conns(w), "--duration", secs(e)},
		parse: fileParse(out, parseNTX),
	}
}

const locustGet = `from locust import FastHttpUser, task, constant


class Get(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
`

const locustFlow = `from locust import FastHttpUser, task, constant


class Flow(FastHttpUser):
    wait_time = constant(0)

    @task
    def flow(self):
        token = self.client.post("/login", json={"user": "u", "password": "p"}).json()["token"]
        self.client.get("/item?token=" + token, name="/item")
`

// locustWrapper starts Locust with a version string: Debian's package
// ships an empty one, and a master then takes its own workers for
// pre-2.0 ones and refuses them.
const locustWrapper = `import sys
import locust
import locust.runners

if not locust.__version__:
    locust.__version__ = locust.runners.__version__ = "2.12.1"
from locust.main import main

sys.exit(main())
`

func locustRun(e *env, python string, w workload, procs int) *invocation {
	wrap := filepath.Join(e.scratch, "locust_wrapper.py")
	lf := filepath.Join(e.scratch, "locustfile.py")
	body := locustGet
	if w.ID == "flow" {
		body = locustFlow
	}
	if os.WriteFile(wrap, []byte(locustWrapper), 0o644) != nil || os.WriteFile(lf, []byte(body), 0o644) != nil {
		return nil
	}
	csv := filepath.Join(e.scratch, "locust")
	common := []string{python, wrap, "-f", lf, "--loglevel", "WARNING"}
	run := []string{"--headless", "-u", conns(w), "-r", conns(w), "-t", secs(e), "--host", "http://" + plainAddr,
		"--csv", csv, "--only-summary"}
	stderr := filepath.Join(e.scratch, "stderr") // where runOnce puts it
	iv := &invocation{parse: func(string) (measured, error) {
		m, err := fileParse(csv+"_stats.csv", parseLocust)("")
		if err == nil {
			return m, nil
		}
		return fileParse(stderr, parseLocustSummary)("")
	}}
	if procs == 1 {
		iv.argv = append(append([]string{}, common...), run...)
		return iv
	}
	q := func(xs []string) string {
		return (&invocation{argv: xs}).commandLine()
	}
	master := append(append(append([]string{}, common...), run...), "--master", "--master-bind-host", "127.0.0.1",
		"--master-bind-port", locustPort, "--expect-workers", strconv.Itoa(procs))
	worker := append(append([]string{}, common...), "--worker", "--master-host", "127.0.0.1", "--master-port", locustPort)
	script := q(master) + " & m=$!; for i in $(seq " + strconv.Itoa(procs) + "); do " + q(worker) + " & done; wait $m; wait"
	iv.argv = []string{"/bin/sh", "-c", script}
	return iv
}

const artilleryGet = `config:
  target: "http://%s"
  phases: [{duration: 1, arrivalCount: %d}]
  processor: "./artillery.js"
scenarios:
  - flow:
      - loop:
          - get: {url: "/"}
        whileTrue: "running"
`

const artilleryFlow = `config:
  target: "http://%s"
  phases: [{duration: 1, arrivalCount: %d}]
  processor: "./artillery.js"
scenarios:
  - flow:
      - loop:
          - post:
              url: "/login"
              json: {user: "u", password: "p"}
              capture: {json: "$.token", as: "token"}
          - get: {url: "/item?token={{ token }}"}
        whileTrue: "running"
`

// Each virtual user loops until the run's time is up (Artillery has no
// closed-model duration of its own). The clock starts at the first
// check, not when the processor is loaded: Artillery takes seconds to
// start its workers on a busy machine.
const artilleryJS = `let end = 0;
module.exports = {
  running: (context, next) => {
    if (end === 0) end = Date.now() + Number(process.env.NTXBENCH_SECONDS || 10) * 1000;
    next(Date.now() < end);
  },
};
`

func artilleryRun(e *env, p string, w workload) *invocation {
	conf := artilleryGet
	switch w.ID {
	case "get50":
	case "flow":
		conf = artilleryFlow
	default:
		return nil
	}
	yml := filepath.Join(e.scratch, "artillery.yml")
	if os.WriteFile(yml, []byte(fmt.Sprintf(conf, plainAddr, w.Conns)), 0o644) != nil ||
		os.WriteFile(filepath.Join(e.scratch, "artillery.js"), []byte(artilleryJS), 0o644) != nil {
		return nil
	}
	rep := filepath.Join(e.scratch, "artillery.json")
	return &invocation{
		argv:  []string{p, "run", "--quiet", "--output", rep, yml},
		env:   []string{"NTXBENCH_SECONDS=" + strconv.Itoa(e.secs), "ARTILLERY_DISABLE_TELEMETRY=true"},
		parse: fileParse(rep, parseArtillery),
	}
}

// tsungRun starts w.Conns static users at once (Tsung's arrival phases
// started only a few of 50 looping users here), each looping until the
// load's duration is over.
func tsungRun(e *env, p string, w workload) *invocation {
	var steps string
	switch w.ID {
	case "get50":
		steps = `<request><http url="/" method="GET" version="1.1"/></request>`
	case "flow":
		steps = `<request><dyn_variable name="token" re="&quot;token&quot;:&quot;([^&quot;]+)&quot;"/>` +
			`<http url="/login" method="POST" version="1.1" content_type="application/json" contents="{&quot;user&quot;:&quot;u&quot;,&quot;password&quot;:&quot;p&quot;}"/></request>
        <request subst="true"><http url="/item?token=%%_token%%" method="GET" version="1.1"/></request>`
	default:
		return nil
	}
	host, port, _ := strings.Cut(plainAddr, ":")
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?>
<!DOCTYPE tsung SYSTEM "/usr/share/tsung/tsung-1.0.dtd">
<tsung loglevel="error" dumptraffic="false">
  <clients><client host="localhost" use_controller_vm="true" maxusers="60000"/></clients>
  <servers><server host="%s" port="%s" type="tcp"/></servers>
  <load duration="%d" unit="second">
`, host, port, e.secs)
	for range w.Conns {
		b.WriteString(`    <user session="s" start_time="0" unit="second"/>` + "\n")
	}
	fmt.Fprintf(&b, `  </load>
  <sessions>
    <session name="s" probability="100" type="ts_http">
      <for from="1" to="1000000000" var="i">
        %s
      </for>
    </session>
  </sessions>
</tsung>
`, steps)
	xml := filepath.Join(e.scratch, "tsung.xml")
	logs := filepath.Join(e.scratch, "tsung-log")
	if os.WriteFile(xml, []byte(b.String()), 0o644) != nil {
		return nil
	}
	seconds := float64(e.secs)
	return &invocation{
		argv: []string{p, "-f", xml, "-l", logs, "-n", "start"},
		parse: func(string) (measured, error) {
			found, _ := filepath.Glob(filepath.Join(logs, "*", "tsung.log"))
			if len(found) == 0 {
				return newMeasured(), fmt.Errorf("no tsung.log under %s", logs)
			}
			bs, err := os.ReadFile(found[0])
			if err != nil {
				return newMeasured(), err
			}
			return parseTsung(string(bs), seconds)
		},
	}
}
