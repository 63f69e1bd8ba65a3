// Package suggest finds the known name a misspelt one was meant to be,
// for "did you mean" hints in error messages.
package suggest

import (
	"fmt"
	"slices"
	"strings"
)

// Nearest returns the candidate closest to word by edit distance
// (ignoring case), or "" when none is close enough to be a plausible
// typo. Ties go to the alphabetically first candidate.
func Nearest(word string, candidates []string) string {
	sorted := slices.Sorted(slices.Values(candidates))
	best, bestDist := "", len(word)/2+2
	for _, c := range sorted {
		if d := distance(strings.ToLower(word), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// DidYouMean formats the nearest candidate as a message suffix:
// ` (did you mean "x"?)`, or "" when there is none.
func DidYouMean(word string, candidates []string) string {
	if s := Nearest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
