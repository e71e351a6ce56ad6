package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"

	"github.com/umzug-dev/umzug/internal/allowedsigners"
	"github.com/umzug-dev/umzug/workflows"
)

// resum rewrites SHA256SUMS over the bundle's files as they are now and
// signs it again with key: what someone holding the signing key can do.
func resum(t *testing.T, dir, key string) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, l := range strings.Split(strings.TrimSuffix(string(sums), "\n"), "\n") {
		_, name, _ := strings.Cut(l, "  ")
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString(sha256Hex(b) + "  " + name + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, SumsFile), out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := SignBundle(dir, key); err != nil {
		t.Fatal(err)
	}
}

// finding returns the problem verify found with file ("" if none).
func finding(v *Verdict, file string) string {
	for _, f := range v.Findings {
		if f.File == file {
			return f.Problem
		}
	}
	return ""
}

// A report edited to lower the quorum and to turn a refusal into an
// acceptance, re-summed and re-signed with the signing key, passes every
// digest and the signature; re-rendering it from history.json finds it
// and names the file, the line and both versions of it.
func TestVerifyRerendersEditedResignedReport(t *testing.T) {
	dir, key, allowed := recordedBundle(t)
	keys, err := allowedsigners.Load(allowed)
	if err != nil {
		t.Fatal(err)
	}
	if v := VerifyBundle(dir, VerifyOptions{Signers: keys}); !v.OK() || v.Rendered != 3 {
		t.Fatalf("intact bundle: %+v", v)
	}
	p := filepath.Join(dir, "report.md")
	md, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(md), "| Quorum | 2 |", "| Quorum | 1 |", 1)
	edited = strings.Replace(edited, "| refused: four-eyes: ops started this move and cannot approve it |", "| accepted |", 1)
	if edited == string(md) {
		t.Fatal("report.md does not hold the lines this test edits")
	}
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	resum(t, dir, key)
	v := VerifyBundle(dir, VerifyOptions{Signers: keys})
	if v.OK() || v.Signer == "" {
		t.Fatalf("edited and re-signed report passed: %+v", v)
	}
	got := finding(v, "report.md")
	line := 1 + strings.Count(string(md[:strings.Index(string(md), "| Quorum | 2 |")]), "\n")
	for _, want := range []string{"differs from what history.json renders", "line " + itoa(line) + " ", `"| Quorum | 1 |"`, `"| Quorum | 2 |"`} {
		if !strings.Contains(got, want) {
			t.Errorf("finding for report.md %q lacks %q", got, want)
		}
	}
	if len(v.Findings) != 1 {
		t.Errorf("findings %+v, want only report.md", v.Findings)
	}

	// The same for report.json: an acceptance written into it.
	dir, key, _ = recordedBundle(t)
	p = filepath.Join(dir, "report.json")
	rj, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(rj, []byte(`"accepted": false`), []byte(`"accepted": true`), 1), 0o644)
	resum(t, dir, key)
	keys, _ = allowedsigners.Load(filepath.Join(filepath.Dir(dir), "allowed_signers"))
	v = VerifyBundle(dir, VerifyOptions{Signers: keys})
	if got := finding(v, "report.json"); !strings.Contains(got, `accepted\": true`) || !strings.Contains(got, `accepted\": false`) {
		t.Fatalf("edited report.json: %+v", v)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// render.json is covered by the signature: an edited record re-signed
// re-renders other reports, and a record of another renderer version
// cannot be re-rendered: verify fails unless told to accept it, and then
// says so in a note.
func TestVerifyRenderRecord(t *testing.T) {
	dir, key, allowed := recordedBundle(t)
	keys, _ := allowedsigners.Load(allowed)
	p := filepath.Join(dir, RenderFile)
	rec, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, bytes.Replace(rec, []byte(`"workflow_id": "umzug/record/finance"`), []byte(`"workflow_id": "umzug/record/other"`), 1), 0o644)
	resum(t, dir, key)
	v := VerifyBundle(dir, VerifyOptions{Signers: keys})
	if !strings.Contains(finding(v, "report.md"), "umzug/record/other") {
		t.Fatalf("edited render record: %+v", v)
	}

	for _, c := range []struct {
		name string
		edit func()
		want string
	}{
		{"older version", func() {
			os.WriteFile(p, bytes.Replace(rec, []byte(RendererVersion), []byte("umzug-audit-render/1"), 1), 0o644)
		}, `cannot re-render: made by renderer version "umzug-audit-render/1"`},
		{"no render record", func() { os.Remove(p) }, "cannot re-render: made by an umzug before " + RendererVersion},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, key, allowed := recordedBundle(t)
			keys, _ := allowedsigners.Load(allowed)
			p = filepath.Join(dir, RenderFile)
			c.edit()
			resum(t, dir, key)
			v := VerifyBundle(dir, VerifyOptions{Signers: keys})
			if v.OK() || !strings.Contains(finding(v, RenderFile), c.want) {
				t.Fatalf("without --accept-old-renderer: %+v", v)
			}
			v = VerifyBundle(dir, VerifyOptions{Signers: keys, AcceptOldRenderer: true})
			if !v.OK() || v.Rendered != 0 || v.Replayed != 1 || v.Checked != 2 || len(v.Notes) != 1 || !strings.Contains(v.Notes[0], c.want) {
				t.Fatalf("with --accept-old-renderer: %+v", v)
			}
		})
	}
}

// Rendering reads no clock and no environment: the bundle of a running
// move records when it was collected, and renders the same bytes again.
func TestRenderIsAFunctionOfTheBundle(t *testing.T) {
	h := loadHistory(t, "../../workflows/testdata/move_approve_commit.json")
	var first map[string][]byte
	for i := range 2 {
		e, err := NewEvidence("umzug/record/finance", h)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.SetFailedBackBy("umzug/record/finance/failback"); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		if err := e.files("", files); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(files["report.md"], []byte("umzug/record/finance/failback")) {
			t.Fatal("failed-back-by not rendered")
		}
		if i == 1 {
			for n, b := range files {
				if !bytes.Equal(b, first[n]) {
					t.Errorf("%s differs between two renders", n)
				}
			}
		}
		first = files
	}
}

// A running move's bundle records the status the server answered and when
// it was collected; verify renders the same reports from them, and the
// failover's pending confirmation is judged at that time, not at the
// verifier's clock.
func TestVerifyRerendersRunningMove(t *testing.T) {
	full := loadHistory(t, "../../workflows/testdata/modes/failover.json")
	done, err := NewEvidence("umzug/record/print/failover/x", full)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.Status
	if !decode(full.Events[len(full.Events)-1].GetWorkflowExecutionCompletedEventAttributes().GetResult(), &st) {
		t.Fatal("no final status")
	}
	st.Failover.ConfirmedBy, st.Failover.ConfirmedAt = "", nil // as while the confirmation was pending
	running := proto.Clone(full).(*historypb.History)
	for i, ev := range running.Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && i > 10 {
			running.Events = running.Events[:i+1]
			break
		}
	}
	e, err := NewEvidence("umzug/record/print/failover/x", running)
	if err != nil {
		t.Fatal(err)
	}
	if e.Report.Closed {
		t.Fatal("the cut history is closed")
	}
	collected := st.Failover.ConfirmBy.Add(-time.Minute)
	if err := e.ApplyRunningStatus(st, collected); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.Report.Failover.Confirmation, "pending, due by") || done.Report.Failover == nil {
		t.Fatalf("confirmation %q", e.Report.Failover.Confirmation)
	}
	dir := t.TempDir()
	if _, err := WriteBundle(dir, e); err != nil {
		t.Fatal(err)
	}
	rec, _ := os.ReadFile(filepath.Join(dir, RenderFile))
	if !bytes.Contains(rec, []byte(`"as_of": "`+collected.UTC().Truncate(time.Second).Format(time.RFC3339)+`"`)) || !bytes.Contains(rec, []byte(`"running_status"`)) {
		t.Fatalf("render record %s", rec)
	}
	v := VerifyBundle(dir, VerifyOptions{})
	if v.Rendered != 3 || finding(v, "report.md") != "" || finding(v, "report.json") != "" || finding(v, "report.html") != "" {
		t.Fatalf("verdict %+v", v)
	}
}
