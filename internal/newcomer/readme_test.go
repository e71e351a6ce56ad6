package newcomer

import (
	"os"
	"slices"
	"testing"
)

// TestREADMEMarksTheNewcomerCommands: the blocks the newcomer lane runs
// are in the README, and a malformed marker is an error, not a skip.
func TestREADMEMarksTheNewcomerCommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := Commands(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"install", "demo", "approve", "commit"} {
		if len(cmds[name]) == 0 {
			t.Errorf("README has no newcomer:%s block", name)
		}
	}
	if !slices.Contains(cmds["install"], "go install ./cmd/umzug ./cmd/umzug-agent") {
		t.Errorf("install block %q", cmds["install"])
	}
	if _, err := Commands("<!-- newcomer:x -->\nsome prose\n"); err == nil {
		t.Error("a marker without a block was accepted")
	}
}
