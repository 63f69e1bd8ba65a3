package schedule

import "math"

// A user mix (spec §4.3): each user draws one of the scenario's flows by
// weight when it is spawned. The draw is a pure function of the run's
// seed and the user's id, so the same seed gives each user the same
// flow, on one machine or in whichever segment of a fleet spawns it.

// Mix draws flows by weight.
type Mix struct {
	cum []float64 // cumulative weights
}

// NewMix returns a mix of flows with the given weights, each above 0.
func NewMix(weights []float64) Mix {
	cum := make([]float64, len(weights))
	total := 0.0
	for i, w := range weights {
		total += w
		cum[i] = total
	}
	return Mix{cum: cum}
}

// Len is the number of flows.
func (m Mix) Len() int { return len(m.cum) }

// mixSalt keeps the flow draw apart from the other draws seeded by the
// same seed and user id (the user's random module, its think times).
const mixSalt = 0x6d69782d666c6f77 // "mix-flow"

// Pick is the index of the flow user id runs under seed: flow i with
// probability weight i over the sum of the weights.
func (m Mix) Pick(seed uint64, id int) int {
	if len(m.cum) <= 1 {
		return 0
	}
	h := splitmix(splitmix(seed^mixSalt) ^ splitmix(uint64(id)))
	u := float64(h>>11) / (1 << 53) // uniform in [0, 1)
	x := u * m.cum[len(m.cum)-1]
	for i, c := range m.cum {
		if x < c {
			return i
		}
	}
	return len(m.cum) - 1 // x rounded up to the total
}

// Share is flow i's expected share of the users, from 0 to 1.
func (m Mix) Share(i int) float64 {
	total := m.cum[len(m.cum)-1]
	prev := 0.0
	if i > 0 {
		prev = m.cum[i-1]
	}
	if total <= 0 || math.IsInf(total, 0) {
		return 0
	}
	return (m.cum[i] - prev) / total
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
