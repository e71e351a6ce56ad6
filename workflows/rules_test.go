package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
)

func TestIsFinalOnlyForEndedPhases(t *testing.T) {
	for _, ph := range []string{PhaseCommitted, PhaseFailed, PhaseRejected, PhaseExpired, PhaseRolledBack} {
		if !IsFinal(ph) {
			t.Errorf("IsFinal(%q) = false", ph)
		}
	}
	for _, ph := range []string{"", PhasePreflight, PhaseSeed, PhaseAwaitingApproval, PhaseCutover, PhaseSoak} {
		if IsFinal(ph) {
			t.Errorf("IsFinal(%q) = true", ph)
		}
	}
}

func TestWaveCommittedOnlyWhenEveryApplicationCommitted(t *testing.T) {
	cases := []struct {
		phases map[string]string
		want   bool
	}{
		{map[string]string{"a": PhaseCommitted, "b": PhaseCommitted}, true},
		{map[string]string{"a": PhaseCommitted, "b": PhaseRolledBack}, false},
		{map[string]string{"a": PhaseCommitted, "b": WaveBlocked}, false},
		{map[string]string{"a": PhaseCommitted, "b": WavePending}, false},
		{map[string]string{}, false},
	}
	for _, c := range cases {
		if got := (WaveStatus{Phases: c.phases}).Committed(); got != c.want {
			t.Errorf("%v: Committed() = %v, want %v", c.phases, got, c.want)
		}
	}
}

func TestPastCutoverFromPhaseOrLog(t *testing.T) {
	if (Status{Phase: PhaseAwaitingApproval}).PastCutover() {
		t.Error("awaiting_approval counted as past cutover")
	}
	if !(Status{Phase: PhaseSoak}).PastCutover() {
		t.Error("soak not past cutover")
	}
	rolled := Status{Phase: PhaseRolledBack, Phases: []PhaseChange{{Phase: PhaseSeed}, {Phase: PhaseCutover}, {Phase: PhaseRolledBack}}}
	if !rolled.PastCutover() {
		t.Error("a rolled-back move whose log shows cutover not past cutover")
	}
}

func TestCopyEstimateCountsBytesHashesFilesAndSet(t *testing.T) {
	est := contract.DeltaEstimate{ChangedBytes: 100 << 20, HashBytes: 200e6, ChangedFiles: 40, DeletedFiles: 10}
	want := time.Second + time.Second + 50*PerFileOverhead + PerSetOverhead
	if got := CopyEstimate(est, 100<<20); got != want {
		t.Errorf("CopyEstimate = %s, want %s", got, want)
	}
	// No measured rate: the fallback rate, not a division by zero.
	if got, want := CopyEstimate(contract.DeltaEstimate{ChangedBytes: FallbackBytesPerSec}, 0), time.Second+PerSetOverhead; got != want {
		t.Errorf("CopyEstimate without rate = %s, want %s", got, want)
	}
}

// panicEstimator stands for an activity that panics when called outside
// a worker.
type panicEstimator struct{}

func (panicEstimator) EstimateDelta(context.Context, contract.CopyInput) (contract.DeltaEstimate, error) {
	panic("activity.GetInfo outside an activity")
}

func (panicEstimator) SampleThroughput(context.Context, contract.Host, string, int64) (float64, error) {
	return 0, errors.New("unused")
}

type fixedEstimator struct {
	d    contract.DeltaEstimate
	rate float64
}

func (f fixedEstimator) EstimateDelta(context.Context, contract.CopyInput) (contract.DeltaEstimate, error) {
	return f.d, nil
}

func (f fixedEstimator) SampleThroughput(context.Context, contract.Host, string, int64) (float64, error) {
	return f.rate, nil
}

func measureInput(bandwidth int64) MoveInput {
	return MoveInput{Subject: Subject{PlanName: "p", Application: "a",
		Source: contract.Host{Name: "src"}, Target: contract.Host{Name: "dst"}},
		Copies: []contract.CopySet{{Name: "data", From: "/a", To: "/b", BandwidthBytesPerSec: bandwidth}}}
}

func TestMeasureCopySetReportsAPanicAsError(t *testing.T) {
	_, err := MeasureCopySet(context.Background(), panicEstimator{}, measureInput(0), 0, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "estimating copy data failed") || !strings.Contains(err.Error(), "outside an activity") {
		t.Fatalf("err = %v, want the panic as an error naming the copy set", err)
	}
}

func TestMeasureCopySetUsesCopyEstimateAndBandwidth(t *testing.T) {
	d := contract.DeltaEstimate{ChangedBytes: 10 << 30, ChangedFiles: 1200}
	m, err := MeasureCopySet(context.Background(), fixedEstimator{d: d, rate: 100 << 20}, measureInput(50<<20), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if m.BytesPerSec != 50<<20 {
		t.Errorf("rate %v, want the bandwidth limit %v", m.BytesPerSec, 50<<20)
	}
	if m.Seed != CopyEstimate(d, 50<<20) || m.FinalSyncPerGiB != CopyEstimate(contract.DeltaEstimate{ChangedBytes: 1 << 30}, 50<<20) {
		t.Errorf("measure %+v disagrees with CopyEstimate", m)
	}
}
