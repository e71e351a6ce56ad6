package activities

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// The re-hash after the switch passes on an unchanged move, skips target
// files the application changed since, and fails non-retryably on a
// source file whose bytes differ from the verified digest although its
// size and mtime do not.
func TestRehashAfterSwitch(t *testing.T) {
	f := newCopyFixture(t)
	var trace bytes.Buffer
	f.a.Options.Trace = &trace
	files, _ := buildTree(t, f.srcRoot)
	in := f.input(CopySet{})
	f.copy(t, in)
	in.Phase = PhaseFinalSync
	fin := f.copy(t, in)
	if fin.Kept != int64(files) {
		t.Fatalf("final sync kept %d of %d", fin.Kept, files)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rin := RehashInput{Copy: in, ManifestSHA256: fin.ManifestSHA256}
	res, err := f.a.RehashAfterSwitch(ctx, rin)
	if err != nil || res.Files != int64(files) || res.TargetChecked != int64(files) {
		t.Fatalf("clean re-hash: %+v, %v; want %d files checked on both hosts", res, err, files)
	}
	if f.agentEngine() && !strings.Contains(trace.String(), "re-hash of ledger through the agents") {
		t.Errorf("the agent engine did not re-hash through the agents; trace:\n%s", trace.String())
	}

	// The application writes on the target after the switch: skipped.
	os.WriteFile(filepath.Join(f.dstRoot, "README"), []byte("new by the app"), 0o644)
	// A source file whose bytes changed behind its size and mtime.
	p := filepath.Join(f.srcRoot, "ledger/2024/jan.csv")
	st, _ := os.Stat(p)
	data, _ := os.ReadFile(p)
	data[7] ^= 0x55
	os.WriteFile(p, data, 0o640)
	os.Chtimes(p, st.ModTime(), st.ModTime())
	res, err = f.a.RehashAfterSwitch(ctx, rin)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != contract.ErrVerificationFailed || !strings.Contains(err.Error(), "jan.csv") {
		t.Fatalf("want non-retryable VerificationFailed naming jan.csv, got %v", err)
	}
	if res.TargetSkipped != 1 || strings.Contains(err.Error(), "README") {
		t.Errorf("target skipped %d (want 1, README); error %v", res.TargetSkipped, err)
	}

	// A manifest changed on the target is not trusted.
	rin.ManifestSHA256 = strings.Repeat("0", 64)
	if _, err := f.a.RehashAfterSwitch(ctx, rin); err == nil || !strings.Contains(err.Error(), "changed since") {
		t.Errorf("want a refused manifest, got %v", err)
	}
}
