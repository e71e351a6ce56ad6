package launch

import (
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/workflows"
)

// The Web UI's Details panel says what the move was started to do and how
// to decide, and never shows a command's text.
func TestStaticDetailsOfAMove(t *testing.T) {
	in := workflows.MoveInput{
		Subject: workflows.Subject{PlanName: "q4", Application: "finance", StartedBy: "a.meier",
			Source: contract.Host{Name: "pb", Address: "10.0.0.1:22"}, Target: contract.Host{Name: "lg", Address: "10.0.0.2:22"}},
		Copies: []contract.CopySet{{Name: "data", From: "/srv/a", To: "/srv/b", Verify: "sha256", Delete: true}},
		Cutover: workflows.Cutover{
			Approval: &workflows.ApprovalRule{Approvers: []string{"b.schulz", "c.yilmaz"}, Quorum: 2, FourEyes: true},
			Window:   &workflows.Window{NotBefore: time.Date(2030, 6, 7, 18, 0, 0, 0, time.FixedZone("", 3600)), Duration: 4 * time.Hour},
			Blocks: []workflows.Block{
				{Kind: workflows.BlockStep, Name: "stop", On: "source", Run: "financectl stop --token=${UMZUG_SECRET_t}"},
				{Kind: workflows.BlockFinalSync},
				{Kind: workflows.BlockCheck, Name: "health", On: "target", Run: "curl -f http://x"},
			},
		},
		Soak: 10 * time.Minute,
	}
	d := StaticDetails(in)
	t.Log(d)
	for _, want := range []string{
		"**move of finance** (plan q4), started by a.meier",
		"- source: pb (10.0.0.1:22)", "- target: lg (10.0.0.2:22)",
		"- copy data: /srv/a → /srv/b (verify sha256, deletes what the source lacks)",
		"- cutover, in order: stop on source, final_sync, health on target",
		"- approval: 2 of b.schulz, c.yilmaz; four-eyes",
		"- window: 2030-06-07 18:00 +01:00 for 4h0m0s",
		"Send an Update",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("details lack %q", want)
		}
	}
	if strings.Contains(d, "financectl") || strings.Contains(d, "UMZUG_SECRET") {
		t.Error("details show a command's text")
	}
	if w := StaticDetails(workflows.WaveInput{PlanName: "q4", Wave: "w1", Moves: []workflows.MoveInput{in}}); !strings.Contains(w, "finance: pb (10.0.0.1:22) → lg (10.0.0.2:22) (workflow `umzug/q4/finance`)") {
		t.Errorf("wave details:\n%s", w)
	}
}
