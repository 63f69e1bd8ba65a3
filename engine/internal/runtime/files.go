package runtime

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Files lists the files the scenario reads when it loads: the scenario
// file itself, every module it loads and every dataset's file, each
// relative to the scenario's directory, with forward slashes, the
// scenario first. A fleet ships them to its machines (`ntx kube` puts
// them in a ConfigMap). A file outside the scenario's directory tree is
// an error: the fleet could not place it where the scenario looks.
func (p *Program) Files() ([]string, error) {
	root, err := filepath.Abs(filepath.Dir(p.File))
	if err != nil {
		return nil, err
	}
	rel := func(path string) (string, error) {
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		r, err := filepath.Rel(root, path)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%s is outside the scenario's directory %s", path, root)
		}
		return filepath.ToSlash(r), nil
	}
	first, err := rel(filepath.Base(p.File))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{first: true}
	var rest []string
	add := func(path string) error {
		r, err := rel(path)
		if err != nil {
			return err
		}
		if !seen[r] {
			seen[r] = true
			rest = append(rest, r)
		}
		return nil
	}
	for _, path := range p.loaded {
		if err := add(path); err != nil {
			return nil, err
		}
	}
	for _, d := range p.Scenario.Datasets {
		if d.File != "" {
			if err := add(d.File); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(rest)
	return append([]string{first}, rest...), nil
}
