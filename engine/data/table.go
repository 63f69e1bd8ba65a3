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
	rows  []Row
}

// newTable builds a table over columns; rows are added with add.
func newTable(file string, columns []string) *Table {
	t := &Table{File: file, Columns: columns, index: make(map[string]int, len(columns))}
	for i, c := range columns {
		t.index[c] = i
	}
	return t
}

// add appends a row of values, one per column, freezing them.
func (t *Table) add(vals []starlark.Value) {
	for _, v := range vals {
		v.Freeze()
	}
	t.rows = append(t.rows, Row{t: t, vals: vals})
}

// what names the table in messages.
func (t *Table) what() string {
	if t.Dataset != "" {
		return fmt.Sprintf("dataset %q", t.Dataset)
	}
	return t.File
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Row returns row i (0-based).
func (t *Table) Row(i int) *Row { return &t.rows[i] }

// HasColumn reports whether the table has the named column.
func (t *Table) HasColumn(name string) bool {
	_, ok := t.index[name]
	return ok
}

// Row is one row of a table, as scripts see it: its columns are its
// attributes (row.username) and its keys (row["username"]). Rows are
// immutable; a script that wants to change one copies it with dict(row).
type Row struct {
	t    *Table
	vals []starlark.Value
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
		b.WriteString(r.vals[i].String())
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
	if i, ok := r.t.index[name]; ok {
		return r.vals[i], nil
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
	if i, ok := r.t.index[string(name)]; ok {
		return r.vals[i], true, nil
	}
	return nil, false, fmt.Errorf("%s has no column %q%s", r.t.what(), string(name), didYouMean(string(name), r.t.Columns))
}

// Items returns the (column, value) pairs in column order.
func (r *Row) Items() []starlark.Tuple {
	out := make([]starlark.Tuple, len(r.vals))
	for i, c := range r.t.Columns {
		out[i] = starlark.Tuple{starlark.String(c), r.vals[i]}
	}
	return out
}

// Iterate yields the column names, as iterating a dict yields its keys.
func (r *Row) Iterate() starlark.Iterator { return &columnIter{cols: r.t.Columns} }

// Len is the number of columns.
func (r *Row) Len() int { return len(r.vals) }

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
