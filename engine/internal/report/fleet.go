package report

import (
	"fmt"
	"io"
	"strings"
)

// Fleet says which segments a merged result is made of (spec §9).
type Fleet struct {
	// Segments is how many segments the run had.
	Segments int `json:"segments"`
	// Merged names the segments whose results are in this one ("0/4").
	Merged []string `json:"merged"`
	// Lost names the segments that disconnected or died, and why.
	Lost []LostSegment `json:"lost,omitempty"`
}

// LostSegment is a segment whose result is missing from a fleet's.
type LostSegment struct {
	Segment string `json:"segment"`
	Reason  string `json:"reason"`
}

// writeFleet prints which segments the result covers, and which were
// lost.
func (r *Result) writeFleet(w io.Writer) {
	f := r.Fleet
	if f == nil {
		return
	}
	fmt.Fprintf(w, "fleet: %d of %d segments merged\n", len(f.Merged), f.Segments)
	if len(f.Lost) > 0 {
		lost := make([]string, len(f.Lost))
		for i, l := range f.Lost {
			lost[i] = fmt.Sprintf("segment %s (%s)", l.Segment, l.Reason)
		}
		fmt.Fprintf(w, "incomplete: lost %s; these results cover the other segments\n", strings.Join(lost, ", "))
	}
}
