// Package data is the test data of a scenario (spec §4.3): tables read
// from CSV and JSON files, and the feeders that hand their rows to users.
//
// A table is read and parsed once, when the scenario loads, into frozen
// Starlark values that every user shares: a run of 10,000 users over a
// table of 100,000 rows holds the rows once, not once per user. What a
// user adds is a View, a few words that say which row it holds in the
// current iteration.
//
// Scripts read rows through the predeclared name `data`: data.accounts is
// the row of dataset "accounts" this user holds now, and its columns are
// read as data.accounts.username or data.accounts["username"]. Because a
// Starlark attribute lookup cannot see which thread (user) asks, every
// reference to `data` in a program is compiled as a call, data(), which
// can: see SourceProgram.
package data

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// Table is the parsed content of one data file: named columns and rows
// of frozen Starlark values. It is never modified after it is built, so
// any number of users may read it at once.
//
// The rows of a CSV file are kept as Go strings (two words each, sharing
// one allocation per line) and become Starlark strings when read; rows
// of a JSON file are kept as the frozen Starlark values they decode to.
// Both are stored in blocks of a fixed number of rows, so that a large
// file is never copied to grow a slice while it loads.
type Table struct {
	// File is the data file's name as messages show it.
	File string
	// Dataset is the id of the dataset the table was read for, which
	// messages about its columns name; set by whoever opened it, before
	// any user reads it. Empty, messages name the file.
	Dataset string
	// Columns are the column names in file order: the CSV header, or the
	// keys of a JSON file's objects in order of first appearance.
	Columns []string

	index map[string]int
	strs  cells[string]         // a CSV file's rows
	vals  cells[starlark.Value] // a JSON file's rows
	isCSV bool
	// The table's rows are rows [first, first+count) of the cells: a
	// slice (a fleet segment's share) views part of another's.
	first, count int
}

// newTable builds a table over columns; rows are added with addStrings
// (CSV) or addValues (JSON), not both.
func newTable(file string, columns []string) *Table {
	t := &Table{File: file, Columns: columns, index: make(map[string]int, len(columns))}
	for i, c := range columns {
		t.index[c] = i
	}
	t.strs.width, t.vals.width = len(columns), len(columns)
	return t
}

// addStrings appends a CSV row, one string per column.
func (t *Table) addStrings(row []string) {
	t.isCSV = true
	t.strs.add(row)
	t.count++
}

// addValues appends a JSON row, one value per column, freezing them.
func (t *Table) addValues(row []starlark.Value) {
	for _, v := range row {
		v.Freeze()
	}
	t.vals.add(row)
	t.count++
}

// what names the table in messages.
func (t *Table) what() string {
	if t.Dataset != "" {
		return fmt.Sprintf("dataset %q", t.Dataset)
	}
	return t.File
}

// Len is the number of rows.
func (t *Table) Len() int { return t.count }

// Row returns row i (0-based).
func (t *Table) Row(i int) *Row { return &Row{t: t, i: i} }

// value is column col of row i.
func (t *Table) value(i, col int) starlark.Value {
	if t.isCSV {
		return starlark.String(t.strs.row(t.first + i)[col])
	}
	return t.vals.row(t.first + i)[col]
}

// slice is a table of rows [lo, hi) of t, sharing them.
func (t *Table) slice(lo, hi int) *Table {
	cp := *t
	cp.first, cp.count = t.first+lo, hi-lo
	return &cp
}

// HasColumn reports whether the table has the named column.
func (t *Table) HasColumn(name string) bool {
	_, ok := t.index[name]
	return ok
}

// blockRows is how many rows a block of cells holds.
const blockRows = 4096

// cells holds rows of width values each, in blocks of blockRows rows.
type cells[T any] struct {
	width  int
	rows   int
	blocks [][]T
}

func (c *cells[T]) add(row []T) {
	if c.rows%blockRows == 0 {
		c.blocks = append(c.blocks, make([]T, 0, blockRows*c.width))
	}
	last := len(c.blocks) - 1
	c.blocks[last] = append(c.blocks[last], row...)
	c.rows++
}

func (c *cells[T]) row(i int) []T {
	b := c.blocks[i/blockRows]
	off := (i % blockRows) * c.width
	return b[off : off+c.width : off+c.width]
}

// Row is one row of a table, as scripts see it: its columns are its
// attributes (row.username) and its keys (row["username"]). Rows are
// immutable; a script that wants to change one copies it with dict(row).
type Row struct {
	t *Table
	i int
}

var (
	_ starlark.HasAttrs        = (*Row)(nil)
	_ starlark.IterableMapping = (*Row)(nil)
	_ starlark.Sequence        = (*Row)(nil)
)

// String shows the row like a dict.
func (r *Row) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range r.t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(starlark.String(c).String())
		b.WriteString(": ")
		b.WriteString(r.t.value(r.i, i).String())
	}
	b.WriteByte('}')
	return b.String()
}

// Type is "row".
func (r *Row) Type() string { return "row" }

// Freeze does nothing: a row is immutable from the start.
func (r *Row) Freeze() {}

// Truth is true: a table has no empty rows.
func (r *Row) Truth() starlark.Bool { return true }

// Hash refuses: rows are not meant as dict keys or set members.
func (r *Row) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: row") }

// Attr returns the value of column name.
func (r *Row) Attr(name string) (starlark.Value, error) {
	if col, ok := r.t.index[name]; ok {
		return r.t.value(r.i, col), nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("%s has no column %q", r.t.what(), name))
}

// AttrNames lists the columns, sorted (for "did you mean" hints).
func (r *Row) AttrNames() []string {
	names := append([]string(nil), r.t.Columns...)
	sort.Strings(names)
	return names
}

// Get returns the value of the column named by k.
func (r *Row) Get(k starlark.Value) (starlark.Value, bool, error) {
	name, ok := k.(starlark.String)
	if !ok {
		return nil, false, fmt.Errorf("a row is indexed by column name (a string), not %s", k.Type())
	}
	if col, ok := r.t.index[string(name)]; ok {
		return r.t.value(r.i, col), true, nil
	}
	return nil, false, fmt.Errorf("%s has no column %q%s", r.t.what(), string(name), didYouMean(string(name), r.t.Columns))
}

// Items returns the (column, value) pairs in column order.
func (r *Row) Items() []starlark.Tuple {
	out := make([]starlark.Tuple, len(r.t.Columns))
	for i, c := range r.t.Columns {
		out[i] = starlark.Tuple{starlark.String(c), r.t.value(r.i, i)}
	}
	return out
}

// Iterate yields the column names, as iterating a dict yields its keys.
func (r *Row) Iterate() starlark.Iterator { return &columnIter{cols: r.t.Columns} }

// Len is the number of columns.
func (r *Row) Len() int { return len(r.t.Columns) }

type columnIter struct {
	cols []string
	i    int
}

func (it *columnIter) Next(p *starlark.Value) bool {
	if it.i >= len(it.cols) {
		return false
	}
	*p = starlark.String(it.cols[it.i])
	it.i++
	return true
}

func (it *columnIter) Done() {}
