package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `umzug validate` refuses overlapping copy targets (naming both places)
// and an unknown refusal kind (with a suggestion), with exit code 1.
func TestValidateRefusesOverlapsAndUnknownKinds(t *testing.T) {
	code, _, errOut := cli(t, "validate", "../../plans/testdata/faults/copies.hcl")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"copies.hcl:37:23:\nError: Overlapping copy targets",
		"copies.hcl:42:23:\nError: Overlapping copy targets",
		"the other at ../../plans/testdata/faults/copies.hcl:42:23",
		"the other at ../../plans/testdata/faults/copies.hcl:37:23",
		`copies.hcl:38:24:` + "\nError: Unknown refusal kind",
		`Did you mean "socket"?`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate output lacks %q", want)
		}
	}
}

// A four-line setproduct plan once ran for 54 s and took 11 GB; validate
// now refuses it at once (a bound in steps, not a timed assertion).
func TestValidateRefusesCostlyPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "costly.hcl")
	src := "locals {\n  r = range(1000)\n  p = setproduct(local.r, local.r, local.r, local.r)\n}\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _, errOut := cli(t, "validate", path)
	t.Logf("validate took %s", time.Since(start))
	if code != 1 || !strings.Contains(errOut, "costly.hcl:3:7:") || !strings.Contains(errOut, "more than the 10000 a collection may have") {
		t.Fatalf("exit %d, output:\n%s", code, errOut)
	}
}
