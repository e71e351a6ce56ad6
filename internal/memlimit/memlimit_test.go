package memlimit

import (
	"runtime/debug"
	"testing"
)

func TestApplyUnlessGOMEMLIMIT(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)

	t.Setenv("GOMEMLIMIT", "")
	Apply(Worker)
	if got := debug.SetMemoryLimit(-1); got != Worker {
		t.Fatalf("limit %d, want %d", got, Worker)
	}
	debug.SetMemoryLimit(old)
	t.Setenv("GOMEMLIMIT", "1GiB")
	Apply(Worker)
	if got := debug.SetMemoryLimit(-1); got != old {
		t.Fatalf("limit %d with GOMEMLIMIT set, want it untouched (%d)", got, old)
	}
}
