package scenario

import (
	"errors"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/internal/data"
	"github.com/ntx-dev/ntx/engine/internal/expr"
)

// datasets checks the data: section and reads each dataset's file, once:
// the table is kept in the model, and a run hands out its rows. A file
// that cannot be used is an error at its `file:` key; a problem inside
// it is an error at its own FILE:LINE:COL.
func (v *validator) datasets() {
	seen := map[string]Pos{}
	dir := filepath.Dir(v.s.File)
	for _, ds := range v.s.Datasets {
		if ds.ID != "" {
			if prev, dup := seen[ds.ID]; dup {
				v.errorf(ds.Pos, "duplicate dataset id %q (first defined at line %d)", ds.ID, prev.Line)
			}
			seen[ds.ID] = ds.Pos
		}
		if ds.OnExhaustedPos.Line > 0 && ds.Order != data.Unique {
			v.errorf(ds.OnExhaustedPos, "dataset %q: on_exhausted applies to order: unique only (this one is %s, which never runs out)", ds.ID, ds.Order)
		}
		if ds.File == "" {
			continue
		}
		t, err := data.Open(dir, ds.File)
		if err == nil {
			t.Dataset = ds.ID
			ds.Table = t
			continue
		}
		var errs data.Errors
		if !errors.As(err, &errs) {
			v.errorf(ds.FilePos, "dataset %q: %v", ds.ID, err)
			continue
		}
		for _, e := range errs {
			if e.Line == 0 {
				v.errorf(ds.FilePos, "dataset %q: %s", ds.ID, e.Msg)
			} else {
				v.errorf(Pos{File: e.File, Line: e.Line, Col: e.Col}, "%s", e.Msg)
			}
		}
	}
	if len(v.s.Datasets) > 0 {
		for _, a := range v.s.Actions {
			if a.ID == "data" {
				v.errorf(a.Pos, "action id \"data\" would hide the datasets from templates (data.ID.COLUMN): rename the action")
			}
		}
	}
}

// dataColumns maps each dataset id to its columns, for templates; a
// dataset whose file could not be read accepts any column, so that the
// one error about its file is not echoed at every use.
func (s *Scenario) dataColumns() map[string]map[string]bool {
	if len(s.Datasets) == 0 {
		return nil
	}
	out := map[string]map[string]bool{}
	for _, ds := range s.Datasets {
		if ds.ID == "" {
			continue
		}
		var cols map[string]bool
		if ds.Table != nil {
			cols = map[string]bool{}
			for _, c := range ds.Table.Columns {
				cols[c] = true
			}
		}
		out[ds.ID] = cols
	}
	return out
}

// hookSteps checks setup: and teardown:: each names an action, whose
// templates must not read what only a user has (user, tenant, data).
func (v *validator) hookSteps() {
	var ids []string
	for _, a := range v.s.Actions {
		ids = append(ids, a.ID)
	}
	sc := v.s.Scope(false)
	sc.NoUser = true
	for _, h := range []struct {
		what  string
		steps []Step
	}{{"setup", v.s.Setup}, {"teardown", v.s.Teardown}} {
		checked := map[string]bool{}
		for _, st := range h.steps {
			a := v.s.Action(st.Action)
			if a == nil {
				if st.Action != "" {
					v.errorf(st.Pos, "%s runs action %q, which is not defined%s", h.what, st.Action, didYouMean(st.Action, ids))
				}
				continue
			}
			if checked[a.ID] {
				continue
			}
			checked[a.ID] = true
			WalkStrings(a.With, func(n *yaml.Node) {
				if !expr.HasTemplate(n.Value) {
					return
				}
				if _, err := expr.Template(n.Value, sc, nil); err != nil && strings.Contains(err.Error(), "not available here") {
					off := 0
					if te, ok := err.(*expr.Error); ok {
						off = te.Off
					}
					v.errorf(TemplatePos(v.d.file, n, off), "action %q runs in %s:, as no user: %v", a.ID, h.what, err)
				}
			})
		}
	}
}
