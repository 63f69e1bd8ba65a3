package compile

import (
	"sort"
	"strconv"
	"strings"

	"github.com/ntx-dev/ntx/engine/internal/scenario"
)

// SourceMap leads from positions in a compiled program back to the YAML
// they were compiled from, so that an error raised while the program runs
// is reported where the user wrote the thing that caused it.
//
// The program is cut into spans: each starts at a line and column of the
// program and covers everything up to the next span. A span knows the
// YAML position of what it was compiled from and, for a call to a
// built-in, where each of the call's arguments came from.
type SourceMap struct {
	file  string
	spans []Span
}

// Span is one stretch of the compiled program.
type Span struct {
	Line, Col int          // where the span starts in the program, 1-based
	Pos       scenario.Pos // what it was compiled from
	// Args maps a built-in's argument name (and "export[i]" for each
	// export) to where its value was written, for the call this span
	// holds: a built-in's error is raised at the call, and names the
	// argument at fault.
	Args map[string]scenario.Pos
}

// Lookup returns the span holding line:col of the program.
func (m *SourceMap) Lookup(line, col int) (Span, bool) {
	if m == nil {
		return Span{}, false
	}
	i := sort.Search(len(m.spans), func(i int) bool {
		s := m.spans[i]
		return s.Line > line || (s.Line == line && s.Col > col)
	})
	if i == 0 {
		return Span{}, false
	}
	return m.spans[i-1], true
}

// Position maps line:col of the program, where an error with message msg
// was raised, to the YAML position to report.
func (m *SourceMap) Position(line, col int, msg string) (scenario.Pos, bool) {
	s, ok := m.Lookup(line, col)
	if !ok || s.Pos.Line == 0 {
		return scenario.Pos{}, false
	}
	if p, ok := s.Args[argOf(msg)]; ok {
		return p, true
	}
	return s.Pos, true
}

// argOf returns the argument a built-in's error message is about: the
// built-ins write "FUNCTION: ARG ..." (http.get: url "x" is not...),
// "FUNCTION: ARG=..." or "FUNCTION: export[2] ...".
func argOf(msg string) string {
	fn, rest, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(fn, " \t\"") {
		return ""
	}
	end := 0
	for end < len(rest) && (rest[end] == '_' || isAlnum(rest[end])) {
		end++
	}
	if end == 0 {
		return ""
	}
	arg := rest[:end]
	if arg == "export" && end < len(rest) && rest[end] == '[' {
		if close := strings.IndexByte(rest[end:], ']'); close > 0 {
			if _, err := strconv.Atoi(rest[end+1 : end+close]); err == nil {
				return rest[:end+close+1]
			}
		}
	}
	return arg
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// Markers stand in the program text while it is written, where a span
// starts: "\x00" N "\x01", N indexing the compiler's pending spans.
// Neither byte can occur in the program otherwise: string literals are
// quoted with escapes, and YAML admits no control characters in the
// expressions copied from it.
const markOpen, markClose = '\x00', '\x01'

// mark returns a marker starting a span compiled from pos.
func (c *compiler) mark(pos scenario.Pos, args map[string]scenario.Pos) string {
	c.pending = append(c.pending, Span{Pos: pos, Args: args})
	return string(markOpen) + strconv.Itoa(len(c.pending)-1) + string(markClose)
}

// finish removes the markers from the program text and places their
// spans, returning the program and its map.
func (c *compiler) finish(text string) (string, *SourceMap) {
	m := &SourceMap{file: c.s.File}
	var out strings.Builder
	out.Grow(len(text))
	line, col := 1, 1
	for i := 0; i < len(text); i++ {
		ch := text[i]
		if ch == markOpen {
			if end := strings.IndexByte(text[i:], markClose); end > 1 {
				if n, err := strconv.Atoi(text[i+1 : i+end]); err == nil && n < len(c.pending) {
					s := c.pending[n]
					s.Line, s.Col = line, col
					m.spans = append(m.spans, s)
					i += end
					continue
				}
			}
		}
		out.WriteByte(ch)
		switch {
		case ch == '\n':
			line, col = line+1, 1
		case ch&0xC0 != 0x80: // Starlark counts columns in runes
			col++
		}
	}
	// Markers are written in program order, so the spans are sorted;
	// make sure of it, as Lookup relies on it.
	sort.SliceStable(m.spans, func(i, j int) bool {
		a, b := m.spans[i], m.spans[j]
		return a.Line < b.Line || (a.Line == b.Line && a.Col < b.Col)
	})
	return out.String(), m
}
