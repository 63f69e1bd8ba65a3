package catalog

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxSeconds bounds a duration given as a number of seconds (about 31
// years): far beyond any run, and far below the ~292 years where
// time.Duration overflows.
const MaxSeconds = 1e9

// ParseDuration reads a non-negative duration: a Go duration ("300ms",
// "1m30s") or a bare number of seconds ("1.5"). YAML values and Starlark
// arguments are both read with it.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return Seconds(f)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use a number with a unit: 300ms, 2s, 1m)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return v, nil
}

// Seconds converts a number of seconds into a duration, refusing
// negative, non-finite and overflowing values.
func Seconds(f float64) (time.Duration, error) {
	switch {
	case math.IsNaN(f) || f > MaxSeconds:
		return 0, fmt.Errorf("duration %s is out of range (at most %.0f seconds)", strconv.FormatFloat(f, 'g', -1, 64), float64(MaxSeconds))
	case f < 0:
		return 0, fmt.Errorf("duration %s must not be negative", strconv.FormatFloat(f, 'g', -1, 64))
	}
	return time.Duration(f * float64(time.Second)), nil
}

// ParseRate reads a rate "N/s", "N/m", "N/h", "N/DURATION" or a bare
// number per second, and returns it per second.
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, per, hasPer := strings.Cut(s, "/")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a rate (write it as 100/s)", s)
	}
	if !hasPer {
		return v, nil
	}
	per = strings.TrimSpace(per)
	var unit time.Duration
	switch per {
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	default:
		u, err := time.ParseDuration(per)
		if err != nil || u <= 0 {
			return 0, fmt.Errorf("%q is not a rate: the unit after / must be s, m, h or a duration", s)
		}
		unit = u
	}
	return v / unit.Seconds(), nil
}

// SizePattern is the form of a size given as a string; ParseSize reads it.
const SizePattern = `^\s*[0-9]+\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$`

// sizeUnits are the suffixes ParseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// ParseSize reads a positive size in bytes: "65536", "512KiB", "64MiB",
// "1GB" (KB, MB and GB are powers of 1000; KiB, MiB and GiB of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, factor = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/factor {
		return 0, fmt.Errorf("%q is not a size (write a number of bytes, or 512KiB, 64MiB)", s)
	}
	return n * factor, nil
}
