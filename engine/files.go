package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Output is a file a command will write, named by the flag that asked
// for it so that errors can say which one is wrong.
type Output struct {
	Flag string // e.g. "--out"
	Path string
}

// CheckOutputs makes sure, before a run starts, that every output can be
// written: its directory exists and takes new files, it is not a
// directory, it is not the scenario file itself (nor any other input,
// through a symlink, a hard link or another spelling of its path), and
// no two outputs are the same file. A long run must never end by failing
// to save its result, nor by overwriting what it ran. Outputs with an
// empty Path are skipped.
func CheckOutputs(inputs []string, outputs ...Output) error {
	seen := map[string]string{} // resolved path -> flag
	for _, o := range outputs {
		if o.Path == "" {
			continue
		}
		if err := checkOutput(inputs, o.Path); err != nil {
			return fmt.Errorf("%s %s: %w", o.Flag, o.Path, err)
		}
		key := resolve(o.Path)
		if prev, ok := seen[key]; ok {
			return fmt.Errorf("%s %s: the same file as %s", o.Flag, o.Path, prev)
		}
		seen[key] = o.Flag
	}
	return nil
}

func checkOutput(inputs []string, path string) error {
	if fi, err := os.Stat(path); err == nil {
		if fi.IsDir() {
			return errors.New("is a directory; give a file name")
		}
		for _, in := range inputs {
			if ii, err := os.Stat(in); err == nil && os.SameFile(fi, ii) {
				return fmt.Errorf("is the scenario file %s: writing there would destroy it", in)
			}
		}
		// Opened for writing without truncating: nothing changes yet.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("cannot write it: %w", unwrapPath(err))
		}
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot write it: %w", unwrapPath(err))
	}
	// Results are written to a temporary file next to the output and
	// renamed over it: that is what must be possible.
	dir := filepath.Dir(resolve(path))
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("cannot write it: directory %s: %w", dir, unwrapPath(err))
	} else if !fi.IsDir() {
		return fmt.Errorf("cannot write it: %s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".ntx-check-*")
	if err != nil {
		return fmt.Errorf("cannot write it: directory %s does not take new files: %w", dir, unwrapPath(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// resolve follows symlinks as far as the path exists, so that writing
// through a link replaces the file it points to, not the link.
func resolve(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		return filepath.Join(r, filepath.Base(path))
	}
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// unwrapPath drops the *PathError wrapper, whose path the caller names
// already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// WriteFile fills path with write, atomically: the content goes to a
// temporary file in the same directory, which is renamed over path only
// once complete. A reader never sees half a result, and a failed write
// leaves the previous file as it was. A symlink at path is followed.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	path = resolve(path)
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
