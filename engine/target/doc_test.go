package target

import (
	"os"
	"strings"
	"testing"
)

// TestDocIsCurrent: docs/target.md is what go generate writes now.
func TestDocIsCurrent(t *testing.T) {
	b, err := os.ReadFile("../../docs/target.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != Doc() {
		t.Error("docs/target.md is stale: run go generate ./engine/target")
	}
}

// TestHelpNamesTheDefaultPorts: Help is a constant; it must follow
// DefaultConfig.
func TestHelpNamesTheDefaultPorts(t *testing.T) {
	d := DefaultConfig()
	for _, addr := range []string{d.HTTP, d.HTTPS, d.TCP, d.UDP, d.DNS, d.DoT, d.Proxy} {
		if !strings.Contains(Help, addr) {
			t.Errorf("Help does not name %s", addr)
		}
	}
}
