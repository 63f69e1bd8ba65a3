package main

import (
	"math"
	"slices"
)

// spread is the least, the median and the greatest of a set of values.
type spread struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// spreadOf summarises vs; NaN values (not measured) are left out, and an
// empty set gives N 0.
func spreadOf(vs []float64) spread {
	var xs []float64
	for _, v := range vs {
		if !math.IsNaN(v) {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return spread{}
	}
	slices.Sort(xs)
	return spread{Min: xs[0], Median: median(xs), Max: xs[len(xs)-1], N: len(xs)}
}

// median of sorted values: the middle one, or the mean of the middle two.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// roundRatios pairs the runs of a and b made in the same round and gives
// a's requests/s divided by b's for each round where both ran and
// succeeded. Ratios are taken within a round, where both tools met the
// same machine, before any median: on a shared machine they are far
// steadier than the ratio of two medians.
func roundRatios(a, b []run) []float64 {
	byRound := map[int]float64{}
	for _, r := range b {
		if r.ok() {
			byRound[r.Round] = r.RPS
		}
	}
	var out []float64
	for _, r := range a {
		if d, ok := byRound[r.Round]; ok && r.ok() && d > 0 {
			out = append(out, r.RPS/d)
		}
	}
	return out
}

// rotate gives the order in which round r runs the tools: the list
// rotated left by r, so that every tool takes every position (first,
// after the heaviest, last) as often as the rounds allow.
func rotate[T any](xs []T, r int) []T {
	n := len(xs)
	if n == 0 {
		return nil
	}
	k := ((r % n) + n) % n
	out := make([]T, 0, n)
	out = append(out, xs[k:]...)
	return append(out, xs[:k]...)
}
