package activities

import (
	"context"
	"testing"

	"github.com/umzug-dev/umzug/internal/sshserver"
)

// BenchmarkRunCommandTrue is the fixed cost of one step: launch, poll the
// attempt record, read the output tails.
func BenchmarkRunCommandTrue(b *testing.B) {
	ts := startTestSSH(b, "h", sshserver.Options{})
	a := &Activities{RemoteStateDir: b.TempDir()}
	for b.Loop() {
		if res, err := a.RunCommand(context.Background(), CommandInput{Host: ts.host, Command: "true", Purpose: "step x"}); err != nil || res.ExitCode != 0 {
			b.Fatal(res, err)
		}
	}
}
