package data

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/ntx-dev/ntx/engine/internal/suggest"
)

// MaxErrors is how many problems of one data file are reported before
// the rest are left out: a file that is wrong throughout (the wrong
// delimiter, say) needs one message, not a hundred thousand.
const MaxErrors = 10

// Error is a problem with a data file. When Line is set it lies at
// File:Line:Col of the data file itself; when it is 0 the file could not
// be used at all (missing, outside the scenario's tree, of an unknown
// kind), and the message belongs at the scenario's `file:` key.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	col := e.Col
	if col == 0 {
		col = 1
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, col, e.Msg)
}

// Errors are the problems found in one data file, in file order.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Open reads and parses the data file name, which is relative to dir
// (the directory of the scenario file, as given) unless absolute. The
// file must lie inside dir's tree once symbolic links are resolved, so
// that a scenario cannot be made to read files it was not given. A .csv
// file needs a header row; a .json file holds a list of objects. The
// error is an Errors.
func Open(dir, name string) (*Table, error) {
	shown := name
	if !filepath.IsAbs(name) {
		shown = filepath.Join(dir, name)
	}
	fail := func(format string, args ...any) (*Table, error) {
		return nil, Errors{{File: shown, Msg: fmt.Sprintf(format, args...)}}
	}
	if name == "" {
		return fail("a dataset needs a file name")
	}
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".csv" && ext != ".json" {
		return fail("data file %q: only .csv (with a header row) and .json (a list of objects) are read", name)
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return fail("data file %q: %v", name, err)
	}
	root, err := filepath.EvalSymlinks(absDir)
	if err != nil {
		return fail("data file %q: the scenario's directory: %v", name, err)
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(absDir, name)
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail("data file %q does not exist (looked for %s)", name, shown)
		}
		return fail("data file %q: %v", name, unwrapPath(err))
	}
	if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fail("data file %q is outside the scenario's directory %s (after following links); data files must lie below it", name, root)
	}
	st, err := os.Stat(real)
	if err != nil {
		return fail("data file %q: %v", name, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return fail("data file %q is not a regular file", name)
	}
	if ext == ".csv" {
		// Streamed: the file's bytes are never all held at once beside
		// the rows made of them.
		f, err := os.Open(real)
		if err != nil {
			return fail("data file %q: %v", name, unwrapPath(err))
		}
		defer f.Close()
		return parseCSV(shown, bufio.NewReaderSize(f, 64<<10))
	}
	src, err := os.ReadFile(real)
	if err != nil {
		return fail("data file %q: %v", name, unwrapPath(err))
	}
	return ParseJSON(shown, src)
}

// unwrapPath drops the path an *fs.PathError repeats, since the message
// already names the file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ParseCSV reads a CSV table with a header row. Every value is a string.
// file names the table in messages.
func ParseCSV(file string, src []byte) (*Table, error) {
	return parseCSV(file, bufio.NewReader(bytes.NewReader(src)))
}

func parseCSV(file string, in *bufio.Reader) (*Table, error) {
	if bom, err := in.Peek(3); err == nil && string(bom) == "\uFEFF" {
		in.Discard(3) // a BOM some spreadsheets write
	}
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1 // ragged rows are reported here, with both counts
	// Each record's fields share one string per line, which the table
	// keeps; the slice of them is reused.
	r.ReuseRecord = true
	var errs Errors
	add := func(line, col int, format string, args ...any) bool {
		errs = append(errs, &Error{File: file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
		return len(errs) < MaxErrors
	}
	header, err := r.Read()
	if err == io.EOF {
		add(1, 1, "the file is empty: a CSV data file needs a header row naming its columns")
		return nil, errs
	}
	if err != nil {
		csvError(file, err, add)
		return nil, errs
	}
	header = slices.Clone(header) // the reader reuses its slice
	seen := map[string]int{}
	for i, h := range header {
		line, col := r.FieldPos(i)
		switch {
		case strings.TrimSpace(h) == "":
			add(line, col, "column %d of the header has no name", i+1)
		case seen[h] > 0:
			add(line, col, "column %q is named twice in the header (columns %d and %d)", h, seen[h], i+1)
		}
		seen[h] = i + 1
	}
	t := newTable(file, header)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !csvError(file, err, add) {
				return nil, errs
			}
			continue
		}
		if len(rec) != len(header) {
			line, col := r.FieldPos(0)
			if !add(line, col, "this row has %d fields but the header has %d columns", len(rec), len(header)) {
				return nil, errs
			}
			continue
		}
		t.addStrings(rec)
	}
	if len(errs) == 0 && t.Len() == 0 {
		add(1, 1, "the file has a header but no rows")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}

// csvError records a CSV syntax error at its position; it reports
// whether more errors may be recorded.
func csvError(file string, err error, add func(line, col int, format string, args ...any) bool) bool {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
			msg += ` (a field with a quote must be quoted whole, with "" for each quote inside it)`
		}
		return add(pe.Line, pe.Column, "%s", msg)
	}
	return add(1, 1, "%v", err)
}

// ParseJSON reads a JSON table: a list of objects, whose keys are the
// columns. A key missing from some objects is None in their rows.
func ParseJSON(file string, src []byte) (*Table, error) {
	src = bytes.TrimPrefix(src, []byte("\uFEFF"))
	p := &jsonParser{file: file, src: src, dec: json.NewDecoder(bytes.NewReader(src))}
	p.dec.UseNumber()
	if len(bytes.TrimSpace(src)) > 0 && !json.Valid(src) {
		// Checked whole first: the decoder's token stream reports some
		// syntax errors at offsets relative to the value it was reading.
		var raw json.RawMessage
		return nil, Errors{p.syntaxError(json.Unmarshal(src, &raw))}
	}
	rows, err := p.table()
	if err != nil {
		return nil, Errors{err}
	}
	return rows, nil
}

type jsonParser struct {
	file string
	src  []byte
	dec  *json.Decoder
}

// errAt is an error at byte offset off of the source.
func (p *jsonParser) errAt(off int64, format string, args ...any) *Error {
	line, col := lineCol(p.src, off)
	return &Error{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// next is the offset where the next token starts, past white space and
// the separators the decoder consumes on its own.
func (p *jsonParser) next() int64 {
	off := p.dec.InputOffset()
	for off < int64(len(p.src)) && strings.IndexByte(" \t\r\n,:", p.src[off]) >= 0 {
		off++
	}
	return off
}

// syntaxError converts a decoding error into a positioned one.
func (p *jsonParser) syntaxError(err error) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Unmarshal's Offset is just past the offending byte.
		off := se.Offset - 1
		if off < 0 {
			off = 0
		}
		msg := se.Error()
		if msg == "unexpected end of JSON input" {
			off, msg = int64(len(p.src)), "the file ends in the middle of a value"
		}
		return p.errAt(off, "invalid JSON: %s", msg)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return p.errAt(int64(len(p.src)), "invalid JSON: the file ends in the middle of a value")
	}
	return p.errAt(p.next(), "invalid JSON: %v", err)
}

func (p *jsonParser) table() (*Table, *Error) {
	start := p.next()
	tok, err := p.dec.Token()
	if err == io.EOF {
		return nil, p.errAt(0, "the file is empty: a JSON data file holds a list of objects")
	}
	if err != nil {
		return nil, p.syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, p.errAt(start, "a JSON data file holds a list of objects ([{...}, {...}]), not %s", jsonKind(tok))
	}
	var (
		columns []string
		index   = map[string]int{}
		objects [][]kv
	)
	for p.dec.More() {
		at := p.next()
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.syntaxError(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return nil, p.errAt(at, "entry %d of the list is %s; every entry must be an object, one row", len(objects)+1, jsonKind(tok))
		}
		obj, jerr := p.object()
		if jerr != nil {
			return nil, jerr
		}
		for _, f := range obj {
			if _, ok := index[f.k]; !ok {
				index[f.k] = len(columns)
				columns = append(columns, f.k)
			}
		}
		objects = append(objects, obj)
	}
	if _, err := p.dec.Token(); err != nil { // the closing ]
		return nil, p.syntaxError(err)
	}
	after := p.next()
	if _, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, p.syntaxError(err)
		}
		return nil, p.errAt(after, "invalid JSON: more after the list; a data file holds one list")
	}
	if len(objects) == 0 {
		return nil, p.errAt(start, "the list is empty: a data file needs at least one row")
	}
	t := newTable(p.file, columns)
	for _, obj := range objects {
		vals := make([]starlark.Value, len(columns))
		for i := range vals {
			vals[i] = starlark.None
		}
		for _, f := range obj {
			vals[index[f.k]] = f.v
		}
		t.addValues(vals)
	}
	return t, nil
}

type kv struct {
	k string
	v starlark.Value
}

// object reads the members of an object whose { has been read, in order.
// A key given twice keeps its last value, as JSON decoders do.
func (p *jsonParser) object() ([]kv, *Error) {
	var out []kv
	pos := map[string]int{}
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.syntaxError(err)
		}
		k, _ := tok.(string) // the decoder only yields strings as keys
		v, jerr := p.value()
		if jerr != nil {
			return nil, jerr
		}
		if i, dup := pos[k]; dup {
			out[i].v = v
			continue
		}
		pos[k] = len(out)
		out = append(out, kv{k, v})
	}
	if _, err := p.dec.Token(); err != nil { // the closing }
		return nil, p.syntaxError(err)
	}
	return out, nil
}

// value reads any JSON value as a Starlark value.
func (p *jsonParser) value() (starlark.Value, *Error) {
	at := p.next()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntaxError(err)
	}
	switch t := tok.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(t), nil
	case string:
		return starlark.String(t), nil
	case json.Number:
		return p.number(at, t)
	case json.Delim:
		switch t {
		case '{':
			obj, jerr := p.object()
			if jerr != nil {
				return nil, jerr
			}
			d := starlark.NewDict(len(obj))
			for _, f := range obj {
				_ = d.SetKey(starlark.String(f.k), f.v)
			}
			return d, nil
		case '[':
			var items []starlark.Value
			for p.dec.More() {
				v, jerr := p.value()
				if jerr != nil {
					return nil, jerr
				}
				items = append(items, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, p.syntaxError(err)
			}
			return starlark.NewList(items), nil
		}
	}
	return nil, p.errAt(at, "invalid JSON: unexpected %v", tok)
}

// number reads a JSON number as an int when it is whole, else a float.
func (p *jsonParser) number(at int64, n json.Number) (starlark.Value, *Error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return starlark.MakeInt64(i), nil
		}
		if b, ok := new(big.Int).SetString(s, 10); ok {
			return starlark.MakeBigInt(b), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, p.errAt(at, "number %s is out of range", s)
	}
	return starlark.Float(f), nil
}

func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return fmt.Sprintf("the string %q", t)
	case json.Number:
		return "a number"
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
	}
	return fmt.Sprintf("%v", tok)
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(src []byte, off int64) (line, col int) {
	if off > int64(len(src)) {
		off = int64(len(src))
	}
	before := src[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func didYouMean(word string, known []string) string { return suggest.DidYouMean(word, known) }
