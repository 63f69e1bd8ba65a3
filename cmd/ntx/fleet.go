package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ntx-dev/ntx/engine/schedule"
)

// segmentFlag reads --segment I/N. An empty I ("/4") is read from
// JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod.
func segmentFlag(s string) (schedule.Segment, error) {
	if s == "" {
		return schedule.Segment{}, nil
	}
	if strings.HasPrefix(s, "/") {
		idx, ok := os.LookupEnv("JOB_COMPLETION_INDEX")
		if !ok {
			return schedule.Segment{}, fmt.Errorf("--segment %s takes I from JOB_COMPLETION_INDEX, which is not set (give --segment I%s)", s, s)
		}
		s = strings.TrimSpace(idx) + s
	}
	return schedule.ParseSegment(s)
}

// startAtFlag reads --start-at: an RFC 3339 time, or +DURATION from now.
func startAtFlag(s string, now time.Time) (time.Time, error) {
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return time.Time{}, fmt.Errorf("--start-at %s: want +DURATION (e.g. +30s) or an RFC 3339 time", s)
		}
		return now.Add(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at %s: want an RFC 3339 time (e.g. 2026-11-27T10:00:00Z) or +DURATION (e.g. +30s)", s)
	}
	return t, nil
}
