package engine

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFileFailureKeepsThePrevious: a write that fails half-way
// leaves the previous file whole and no temporary file behind.
func TestWriteFileFailureKeepsThePrevious(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := os.WriteFile(path, []byte("previous"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := WriteFile(path, func(w io.Writer) error {
		io.WriteString(w, strings.Repeat("half a result ", 1000))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
	if b, _ := os.ReadFile(path); string(b) != "previous" {
		t.Errorf("after a failed write the file holds %q", b)
	}
	if err := WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if b, _ := os.ReadFile(path); string(b) != "new" || err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("after a good write: %q, mode %v (want the previous file's 0600)", b, fi.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want 1", len(entries))
	}
}

// TestCheckOutputsNamesTheInput: an output that is an input, through a
// symlink, is refused before anything is written.
func TestCheckOutputsNamesTheInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "s.yaml")
	os.WriteFile(in, []byte("name: s\n"), 0o644)
	link := filepath.Join(dir, "out.json")
	os.Symlink("s.yaml", link)
	err := CheckOutputs([]string{in}, Output{"--out", ""}, Output{"--out", link})
	if err == nil || !strings.Contains(err.Error(), "--out "+link+": is the scenario file") {
		t.Errorf("got %v", err)
	}
	if err := CheckOutputs([]string{in}, Output{"--out", filepath.Join(dir, "new.json")}); err != nil {
		t.Errorf("a new file next to the scenario: %v", err)
	}
}
