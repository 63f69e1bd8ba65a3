package main

import (
	"encoding/json"
	"testing"

	"github.com/ntx-dev/ntx/engine/catalog"
)

func TestSchemaCommand(t *testing.T) {
	code, stdout, stderr := ntx(t, "schema")
	if code != exitPassed || stderr != "" {
		t.Fatalf("ntx schema: exit %d\n%s", code, stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("ntx schema printed no JSON: %v", err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" || stdout != string(catalog.JSONSchema()) {
		t.Errorf("ntx schema printed something other than the catalog's schema")
	}
	if code, _, _ := ntx(t, "schema", "extra"); code != exitInvalid {
		t.Errorf("ntx schema extra: exit %d, want %d", code, exitInvalid)
	}
}
