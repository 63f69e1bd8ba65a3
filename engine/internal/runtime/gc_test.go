package runtime

import "testing"

// TestTuneGC: a run of manyUsers users or more collects with
// manyUsersGOGC, and its end restores the setting; fewer users, or
// GOGC or GOMEMLIMIT set in the environment, leave it alone.
func TestTuneGC(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := gogc()
	if before < 0 || before <= manyUsersGOGC {
		t.Skipf("the test process runs with GOGC %d, which a run keeps", before)
	}
	if restore := tuneGC(manyUsers - 1); restore != nil {
		restore()
		t.Fatalf("%d users: the collector was tuned", manyUsers-1)
	}
	restore := tuneGC(manyUsers)
	if restore == nil {
		t.Fatalf("%d users: the collector was left alone", manyUsers)
	}
	if g := gogc(); g != manyUsersGOGC {
		t.Errorf("GOGC %d during the run, want %d", g, manyUsersGOGC)
	}
	restore()
	if g := gogc(); g != before {
		t.Errorf("GOGC %d after the run, want %d as before", g, before)
	}
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(v, "200")
			if restore := tuneGC(100_000); restore != nil {
				restore()
				t.Errorf("%s set: the collector was tuned", v)
			}
		})
	}
}
