package main

import (
	"io"

	"github.com/ntx-dev/ntx/engine/catalog"
)

// cmdSchema prints the JSON Schema of the YAML language, for editors:
// a scenario whose first line is
//
//	# yaml-language-server: $schema=ntx.schema.json
//
// is completed and checked as it is typed by any editor that runs the
// YAML language server.
func cmdSchema(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("schema", "", "Prints the JSON Schema (draft 2020-12) of the YAML scenario language, both dialects.\nSave it (ntx schema > ntx.schema.json) and name it in a scenario's first line:\n  # yaml-language-server: $schema=ntx.schema.json", stderr)
	if ok, code := parse(fs, args, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitInvalid
	}
	if _, err := stdout.Write(catalog.JSONSchema()); err != nil {
		return exitDied
	}
	return exitPassed
}
