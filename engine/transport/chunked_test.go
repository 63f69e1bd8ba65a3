package transport

import (
	"bytes"
	"strings"
	"testing"
)

// TestChunkedAcrossBoundaries writes a delimiter that straddles two
// chunks and a body over several chunks.
func TestChunkedAcrossBoundaries(t *testing.T) {
	var c chunked
	c.write([]byte(strings.Repeat("a", 4095)))
	c.write([]byte("EN"))
	if c.hasSuffix("END") {
		t.Error("END found before its D")
	}
	c.write([]byte("D"))
	if !c.hasSuffix("END") || !c.hasSuffix("D") || c.hasSuffix("XEND") {
		t.Errorf("suffixes across the chunk boundary: %d chunks full", len(c.full))
	}
	big := bytes.Repeat([]byte("0123456789"), 300_000)
	c.write(big)
	want := append([]byte(strings.Repeat("a", 4095)+"END"), big...)
	if got := c.bytes(); !bytes.Equal(got, want) || c.n != int64(len(want)) || len(c.full) < 3 {
		t.Errorf("joined %d bytes from %d chunks, want %d", len(got), len(c.full)+1, len(want))
	}
}
