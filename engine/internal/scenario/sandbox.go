package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ntx-dev/ntx/engine/internal/pool"
)

// InsideTree resolves path, symbolic links included, and checks that the
// file it names lies inside the directory tree root (resolved likewise).
// A link is followed before the check, so a linked file, a linked
// directory or a link to / cannot lead a scenario out of its tree. It
// returns the resolved path.
func InsideTree(root, path string) (string, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err == nil {
		realRoot, err = filepath.Abs(realRoot)
	}
	if err != nil {
		return "", fmt.Errorf("the scenario's directory %s: %v", root, unwrapPath(err))
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("no such file")
		}
		return "", unwrapPath(err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		via := ""
		if real != filepath.Clean(path) {
			via = " through a symbolic link to " + real
		}
		return "", fmt.Errorf("leads outside the scenario's directory %s%s (scripts may only read files below it)", realRoot, via)
	}
	if st, err := os.Stat(real); err == nil && st.IsDir() {
		return "", fmt.Errorf("is a directory")
	}
	return real, nil
}

// unwrapPath drops the operation and path a *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// sourceIP checks a literal source address (bind_ip): an address of one
// of the scenario's pools, which preflight checks before the run. Any
// other address, even one this host has, is refused.
func (v *validator) sourceIP(n *yaml.Node, what string) {
	s := v.d.str(n, what)
	if s == "" {
		return
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		v.errorf(v.d.pos(n), "%s %q is not an IP address", what, s)
		return
	}
	var ids []string
	for _, p := range v.s.Pools {
		if pool.SpecsContain(p.Ranges, p.Exclude, a) {
			return
		}
		ids = append(ids, p.ID)
	}
	if len(ids) == 0 {
		v.errorf(v.d.pos(n), "%s %s must be an address of one of the scenario's ip pools, and it has none", what, s)
		return
	}
	v.errorf(v.d.pos(n), "%s %s is not an address of the scenario's ip pools (%s)", what, s, strings.Join(ids, ", "))
}
