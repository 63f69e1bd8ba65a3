package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// profile is where ntx's CPU goes on the one-GET workload (50 users),
// YAML and .star, and how many allocations a request costs end to end.
type profile struct {
	Variants []profiled `json:"variants"`
}

type profiled struct {
	Name        string             `json:"name"`
	Command     string             `json:"command"`
	Requests    int64              `json:"requests"`
	RPS         float64            `json:"rps"`
	SampledCPU  float64            `json:"sampled_cpu_s"`
	Groups      map[string]float64 `json:"groups_percent"` // of the sampled CPU, by flat time
	AllocsPerRq float64            `json:"allocs_per_request"`
	TopAllocs   []string           `json:"top_allocators"`
	Err         string             `json:"error,omitempty"`
}

// The groups, in the order the table lists them.
var groupOrder = []string{"syscalls", "Starlark", "metrics", "HTTP client and parsing", "ntx engine and stdlib", "network (net, poll)",
	"scheduler", "allocation and GC", "other runtime", "other"}

var (
	schedRE = regexp.MustCompile(`^runtime\.(schedule|findRunnable|park_m|gopark|goready|ready|runq\w*|stealWork|netpoll\w*|futex\w*|note\w*|mcall|gosched\w*|wakep|startm|stopm|mPark|handoffp|resetspinning|checkTimers|execute|casgstatus|usleep|osyield|procyield|injectglist|lock\w*|unlock\w*|selectgo|chan\w*|sel\w*|newproc\w*|gf\w*|retake|sysmon|goexit\w*|\(\*timers?\)\..*|\w*[tT]imer\w*|nanotime\w*|semacquire\w*|semrelease\w*|\(\*waitq\)\..*|send|recv|acquirem|releasem|wirep|acquirep|releasep|dropg|resumeG|mstart\w*|morestack|newstack|copystack|goroutineReady|runqput\w*|netpollblock\w*|pollWork|\(\*p\)\..*|\(\*m\)\..*|\(\*gQueue\)\..*|\(\*randomEnum\)\..*)$`)
	gcRE    = regexp.MustCompile(`^(runtime\.(mallocgc\w*|newobject|newarray|makeslice\w*|growslice|makemap\w*|gc\w*|\w*[sS]can\w*|mark\w*|sweep\w*|greyobject|findObject|heapBits\w*|heapSetType\w*|\(\*mspan\)\..*|\(\*mheap\)\..*|\(\*mcache\)\..*|\(\*mcentral\)\..*|\(\*gcWork\)\..*|\(\*gcBits\w*\)\..*|\(\*gcControllerState\)\..*|\(\*pageAlloc\)\..*|\(\*wbBuf\)\..*|nextFreeFast|memclrNoHeapPointers\w*|bgsweep|bgscavenge|wbBuf\w*|typePointers\w*|typePointers\..*|convT\w*|\(\*spanQueue\)\..*|\(\*spanInlineMarkBits\)\..*|\(typePointers\)\..*|\(\*typePointers\)\..*|spanOf\w*|bulkBarrier\w*|tryDeferToSpanScan|rawstring\w*|rawbyteslice|rawruneslice|concatstring\w*|slicebytetostring|stringtoslicebyte|deductAssistCredit|sysAlloc|sysUnused\w*|madvise|mProf_Malloc|profilealloc|publicationBarrier|arenaIndex|pcvalue|divRoundUp|roundupsize|memclrNoHeapPointersChunked|mallocgcTiny|mallocgcSmall\w*|mallocgcLarge|nextSample|fastexprand|spanClass\w*|heapBitsSmallForAddr|writeHeapBitsSmall|\(\*sweepLocked\)\..*|\(\*sweepLocker\)\..*|\(\*activeSweep\)\..*|\(\*limiterEvent\)\..*|\(\*spanSet\)\..*|\(\*headTailIndex\)\..*|\(\*lfstack\)\..*)|gcWriteBarrier\w*|internal/runtime/gc\b.*)$`)
	sysRE   = regexp.MustCompile(`^(syscall\.|internal/runtime/syscall|runtime/internal/syscall|golang\.org/x/sys/unix\.|runtime\.(entersyscall\w*|exitsyscall\w*|reentersyscall|write1|read|write|epollctl|epollwait))`)
)

// classify puts a function of a profile into one of groupOrder's groups,
// by its package (and for the runtime, by what it does).
func classify(fn string) string {
	switch {
	case sysRE.MatchString(fn):
		return "syscalls"
	case strings.HasPrefix(fn, "go.starlark.net/"):
		return "Starlark"
	case strings.HasPrefix(fn, "github.com/ntx-dev/ntx/engine/metrics"), strings.HasPrefix(fn, "github.com/HdrHistogram/"):
		return "metrics"
	case strings.HasPrefix(fn, "github.com/ntx-dev/ntx/engine/transport"), strings.HasPrefix(fn, "github.com/valyala/"),
		strings.HasPrefix(fn, "bufio."), strings.HasPrefix(fn, "net/http"), strings.HasPrefix(fn, "net/url."),
		strings.HasPrefix(fn, "net/textproto."), strings.HasPrefix(fn, "golang.org/x/net/"), strings.HasPrefix(fn, "crypto/"),
		strings.HasPrefix(fn, "github.com/hashicorp/"), strings.HasPrefix(fn, "vendor/golang.org/x/net/"):
		return "HTTP client and parsing"
	case strings.HasPrefix(fn, "github.com/ntx-dev/ntx/"):
		return "ntx engine and stdlib"
	case strings.HasPrefix(fn, "net."), strings.HasPrefix(fn, "internal/poll."):
		return "network (net, poll)"
	case gcRE.MatchString(fn):
		return "allocation and GC"
	case schedRE.MatchString(fn):
		return "scheduler"
	case strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "internal/"), strings.HasPrefix(fn, "sync."),
		strings.HasPrefix(fn, "time."), strings.HasPrefix(fn, "context."), strings.HasPrefix(fn, "gogo"), strings.HasPrefix(fn, "aeshash"):
		return "other runtime"
	}
	return "other"
}

var topLine = regexp.MustCompile(`^\s*([\d.]+)(\w*)\s+[\d.]+%\s+[\d.]+%\s+[\d.]+\w*\s+[\d.]+%\s+(.+)$`)

// parsePprofTop reads `go tool pprof -top` output: each function's flat
// value (in the unit pprof printed, converted to seconds when it is a
// time) and the total.
func parsePprofTop(out string) (flat map[string]float64, total float64) {
	flat = map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	scale := map[string]float64{"": 1, "s": 1, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "mins": 60, "hrs": 3600}
	for sc.Scan() {
		m := topLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		if k, ok := scale[m[2]]; ok {
			v *= k
		}
		name := strings.TrimSuffix(strings.TrimSpace(m[3]), " (inline)")
		flat[name] += v
		total += v
	}
	return flat, total
}

// goShape is the instantiation part of a generic function's name.
var goShape = regexp.MustCompile(`\[go\.shape\..*\]`)

var pprofTotal = regexp.MustCompile(`of ([\d.]+)(\w*) total`)

// groupFlat sums flat values by classify's groups, as percentages.
func groupFlat(flat map[string]float64, total float64) map[string]float64 {
	g := map[string]float64{}
	if total == 0 {
		return g
	}
	for fn, v := range flat {
		g[classify(fn)] += v / total * 100
	}
	return g
}

func profileNTX(e *env, out string, d time.Duration) (*profile, error) {
	dir := filepath.Join(out, "profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &profile{}
	for _, v := range []struct{ name, file string }{{"YAML", "bench.yaml"}, {".star", "bench.star"}} {
		pv := profiled{Name: v.name}
		tag := strings.TrimPrefix(filepath.Ext(v.file), ".")
		cpu := filepath.Join(dir, "cpu-"+tag+".pprof")
		mem := filepath.Join(dir, "allocs-"+tag+".pprof")
		res := filepath.Join(dir, "result-"+tag+".json")
		args := []string{e.ntx, "exec", "--quiet", "--out", res, "--cpuprofile", cpu, "--memprofile", mem,
			filepath.Join(e.dir, v.file), "--users", "50", "--duration", strconv.Itoa(e.secs) + "s"}
		pv.Command = (&invocation{argv: args}).commandLine()
		fmt.Fprintf(os.Stderr, "profile: %s\n", pv.Command)
		if b, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			pv.Err = fmt.Sprintf("%v: %s", err, tail(string(b), 300))
			p.Variants = append(p.Variants, pv)
			continue
		}
		b, err := os.ReadFile(res)
		if err == nil {
			m, perr := parseNTX(string(b))
			if perr == nil {
				pv.Requests, pv.RPS = m.Requests, m.RPS
			}
		}
		top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=100000", e.ntx, cpu).Output()
		if err != nil {
			pv.Err = "go tool pprof: " + err.Error()
			p.Variants = append(p.Variants, pv)
			continue
		}
		os.WriteFile(filepath.Join(dir, "cpu-"+tag+".top.txt"), top, 0o644)
		flat, total := parsePprofTop(string(top))
		pv.SampledCPU, pv.Groups = total, groupFlat(flat, total)
		allocs, err := exec.Command("go", "tool", "pprof", "-sample_index=alloc_objects", "-top", "-nodecount=8", e.ntx, mem).Output()
		if err == nil {
			os.WriteFile(filepath.Join(dir, "allocs-"+tag+".top.txt"), allocs, 0o644)
			if m := pprofTotal.FindStringSubmatch(string(allocs)); m != nil && pv.Requests > 0 {
				n, _ := strconv.ParseFloat(m[1], 64)
				n *= map[string]float64{"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[m[2]]
				pv.AllocsPerRq = n / float64(pv.Requests)
			}
			fl, _ := parsePprofTop(string(allocs))
			type kv struct {
				k string
				v float64
			}
			var kvs []kv
			for k, v := range fl {
				kvs = append(kvs, kv{k, v})
			}
			sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v })
			for _, x := range kvs[:min(5, len(kvs))] {
				if pv.Requests > 0 {
					name := goShape.ReplaceAllString(x.k, "")
					pv.TopAllocs = append(pv.TopAllocs, fmt.Sprintf("`%s` %.1f", name, x.v/float64(pv.Requests)))
				}
			}
		}
		p.Variants = append(p.Variants, pv)
	}
	return p, nil
}

func (p *profile) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Where ntx's CPU goes: one GET, 50 connections\n\n")
	fmt.Fprintf(&b, "`ntx exec --cpuprofile --memprofile` on the one-GET workload; functions grouped by package (flat time, %% of the sampled CPU). Allocations per request: the allocation profile's objects ÷ the requests made, end to end.\n\n")
	fmt.Fprintf(&b, "| group |")
	for _, v := range p.Variants {
		fmt.Fprintf(&b, " %s |", v.Name)
	}
	fmt.Fprintf(&b, "\n|---|")
	for range p.Variants {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, g := range groupOrder {
		fmt.Fprintf(&b, "| %s |", g)
		for _, v := range p.Variants {
			fmt.Fprintf(&b, " %.1f%% |", v.Groups[g])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "| requests/s while profiled |")
	for _, v := range p.Variants {
		fmt.Fprintf(&b, " %s |", thousands(v.RPS))
	}
	fmt.Fprintf(&b, "\n| CPU µs per request (sampled) |")
	for _, v := range p.Variants {
		if v.Requests > 0 {
			fmt.Fprintf(&b, " %.1f |", v.SampledCPU/float64(v.Requests)*1e6)
		} else {
			b.WriteString(" — |")
		}
	}
	fmt.Fprintf(&b, "\n| allocations per request |")
	for _, v := range p.Variants {
		fmt.Fprintf(&b, " **%.1f** |", v.AllocsPerRq)
	}
	b.WriteString("\n\n")
	for _, v := range p.Variants {
		if v.Err != "" {
			fmt.Fprintf(&b, "- %s: failed: %s\n", v.Name, v.Err)
			continue
		}
		if len(v.TopAllocs) > 0 {
			fmt.Fprintf(&b, "- %s, the most allocations per request: %s\n", v.Name, strings.Join(v.TopAllocs, "; "))
		}
	}
	b.WriteString("\n")
	return b.String()
}

// printGroups prints the groups of a CPU profile made elsewhere (an
// older build's, to compare with).
func printGroups(path string) error {
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=100000", path).Output()
	if err != nil {
		return fmt.Errorf("go tool pprof %s: %w", path, err)
	}
	flat, total := parsePprofTop(string(top))
	g := groupFlat(flat, total)
	fmt.Printf("%s: %.2f s sampled\n", path, total)
	for _, name := range groupOrder {
		fmt.Printf("%-26s %5.1f%%\n", name, g[name])
	}
	return nil
}
