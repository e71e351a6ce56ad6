package audit

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/allowedsigners"
)

// A wave's report lists its moves in dependency order with each outcome,
// including the one that never started because its dependency failed.
func TestWaveReportListsMovesInDependencyOrder(t *testing.T) {
	e, err := NewEvidence("umzug/record/wave/w1", loadHistory(t, "../../workflows/testdata/wave.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.ReplayErr != nil {
		t.Fatal(e.ReplayErr)
	}
	var got []string
	pos := map[string]int{}
	for i, m := range e.Report.Wave {
		got = append(got, m.Application+"="+m.Outcome)
		pos[m.Application] = i
	}
	for _, m := range e.Report.Wave {
		for _, d := range m.DependsOn {
			if j, ok := pos[d]; ok && j > pos[m.Application] {
				t.Errorf("%s listed before its dependency %s", m.Application, d)
			}
		}
	}
	want := "directory=committed ledger=committed broken=failed reports=not started"
	if strings.Join(got, " ") != want {
		t.Fatalf("wave moves %q, want %q", strings.Join(got, " "), want)
	}
	var md strings.Builder
	if err := e.Report.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| 4 | reports | broken | — | — | — | not started |") {
		t.Fatalf("report.md lacks the blocked move:\n%s", md.String())
	}
}

// One bundle holds the wave and each move under moves/<application>/;
// verify checks and replays them all and names a tampered move file.
func TestWaveBundleCoversEveryMove(t *testing.T) {
	wave, err := NewEvidence("umzug/record/wave/w1", loadHistory(t, "../../workflows/testdata/wave.json"))
	if err != nil {
		t.Fatal(err)
	}
	move, err := NewEvidence("umzug/record/finance", loadHistory(t, "../../workflows/testdata/move_approve_commit.json"))
	if err != nil {
		t.Fatal(err)
	}
	wave.Moves = append(wave.Moves, move)
	wave.FetchManifests(context.Background(), fakeManifests{"/var/lib/umzug/seed.jsonl": []byte("test"), "/var/lib/umzug/final_sync.jsonl": []byte("test")})
	_, key, allowed := recordedBundle(t)
	dir := t.TempDir()
	files, err := WriteBundle(dir, wave)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, f := range files {
		listed = append(listed, f.Name)
	}
	for _, want := range []string{"history.json", "report.html", "moves/finance/history.json", "moves/finance/manifests/ledger-seed.jsonl", "moves/finance/report.md"} {
		if !strings.Contains(" "+strings.Join(listed, " ")+" ", " "+want+" ") {
			t.Errorf("bundle lacks %s: %v", want, listed)
		}
	}
	if _, err := SignBundle(dir, key); err != nil {
		t.Fatal(err)
	}
	keys, _ := allowedsigners.Load(allowed)
	if v := VerifyBundle(dir, VerifyOptions{Signers: keys}); !v.OK() || v.Replayed != 2 || v.Checked != 2 {
		t.Fatalf("verdict %+v", v)
	}
	p := filepath.Join(dir, "moves", "finance", "manifests", "ledger-seed.jsonl")
	os.WriteFile(p, []byte("tesu"), 0o644)
	if v := VerifyBundle(dir, VerifyOptions{Signers: keys}); v.OK() || !names(v, "moves/finance/manifests/ledger-seed.jsonl") {
		t.Fatalf("tampered move manifest: %+v", v)
	}
}
