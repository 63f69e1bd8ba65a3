// Command gen writes the files generated from the catalog: the JSON
// Schema of the YAML language (docs/ntx.schema.json) and the generated
// parts of docs/reference.md. `go generate ./engine/catalog` runs it; a
// test in engine/catalog fails when either file is stale.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ntx-dev/ntx/engine/catalog"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen DOCS_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := write(filepath.Join(dir, "ntx.schema.json"), catalog.JSONSchema()); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	ref := filepath.Join(dir, "reference.md")
	old, err := os.ReadFile(ref)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	updated, err := catalog.UpdateReference(old)
	if err == nil {
		err = write(ref, updated)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// write replaces path's content through a temporary file, so that an
// interrupted run leaves the old file whole.
func write(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
