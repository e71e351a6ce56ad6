package audit

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	gmhtml "github.com/yuin/goldmark/renderer/html"

	"github.com/umzug-dev/umzug/workflows"
)

// hostile is what a refused non-approver can type into a comment: a
// javascript: link, a remote tracking image, emphasis, a code span, raw
// HTML and an entity, bare links GitHub would link, a right-to-left
// override and an isolate, a heading and a list item on lines of their
// own, and a table pipe.
const hostile = "[click](javascript:alert(1)) ![t](https://evil.example/t.png) *em1* _em2_ ~~del~~ `code1` <b>bold</b> &copy; " +
	"https://evil.example/x www.evil.example x@evil.example \u202Eevil\u2066 zero\u200Bwidth | pipe\n# heading\n- item\n1. first"

// fillStrings sets every exported string reachable from v to s, giving
// slices, maps and pointers one element so theirs are reached too.
func fillStrings(v reflect.Value, s string, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Pointer:
		if v.Type() == reflect.TypeOf(&time.Time{}) {
			v.Set(reflect.ValueOf(&t0))
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillStrings(v.Elem(), s, depth+1)
	case reflect.Slice:
		if v.Type() == reflect.TypeOf(json.RawMessage{}) {
			b, _ := json.Marshal(s)
			v.SetBytes(b)
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillStrings(v.Index(0), s, depth+1)
	case reflect.Map:
		if v.Type().Key().Kind() == reflect.String {
			m := reflect.MakeMap(v.Type())
			e := reflect.New(v.Type().Elem()).Elem()
			fillStrings(e, s, depth+1)
			m.SetMapIndex(reflect.ValueOf(s).Convert(v.Type().Key()), e)
			v.Set(m)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(t0))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillStrings(v.Field(i), s, depth+1)
			}
		}
	}
}

// hostileReport is a report in which every value from history is hostile.
func hostileReport(t *testing.T) *Report {
	r := &Report{}
	fillStrings(reflect.ValueOf(r).Elem(), hostile, 0)
	r.Closed, r.Wave[0].Order = true, 1
	r.Failover.Skipped = []string{hostile}
	return r
}

// Every value from history renders inert: in report.md as rendered by a
// GitHub-flavoured Markdown renderer (raw HTML allowed, bare links
// linked), no link, image, emphasis, strikethrough, HTML tag, heading or
// list comes from a value, and the bidi and zero-width characters are
// shown as <U+…>; in report.html no tag, link or image comes from a value
// and the same characters are shown.
func TestHostileValuesRenderInert(t *testing.T) {
	r := hostileReport(t)
	var md, page bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(gmhtml.WithUnsafe()))
	var out bytes.Buffer
	if err := gm.Convert(md.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	rendered := out.String()
	for name, doc := range map[string]string{"report.md rendered": rendered, "report.html": page.String()} {
		for _, bad := range []string{"<a ", "<img", "href=", "src=", "<b>bold", "<em>", "<del>", "<h1>heading", "\u202E", "\u2066", "\u200B"} {
			if strings.Contains(doc, bad) {
				i := strings.Index(doc, bad)
				t.Errorf("%s holds %q: …%s…", name, bad, doc[max(0, i-120):min(len(doc), i+120)])
			}
		}
		for _, want := range []string{"&lt;U+202E&gt;evil&lt;U+2066&gt;", "zero&lt;U+200B&gt;width"} {
			if !strings.Contains(strings.ReplaceAll(doc, "&#43;", "+"), want) {
				t.Errorf("%s does not show %q", name, want)
			}
		}
	}
	// Only the template's own code spans, headings and list items exist.
	for _, re := range []string{`<code>code1</code>`, `<h[1-6]>heading`, `<li>item`, `<li>first`, `<strong>em`} {
		if regexp.MustCompile(re).MatchString(rendered) {
			t.Errorf("report.md renders %s from a value", re)
		}
	}
	if !strings.Contains(rendered, "[click](javascript:alert(1))") {
		t.Errorf("the link's text is not shown literally")
	}
}

// The recorded refusal of a non-approver whose comment is a javascript:
// link and a tracking image: the same, end to end from the history.
func TestRecordedHostileCommentInert(t *testing.T) {
	at := time.Date(2026, 12, 12, 18, 0, 0, 0, time.UTC)
	r := &Report{WorkflowID: "umzug/p/a", WorkflowType: workflows.MoveWorkflow}
	r.Received = []Received{{At: at, Kind: "signal", Name: "approve", Payload: []byte(`{"approver":"mallory"}`)}}
	r.applyStatus(workflows.Status{Phase: workflows.PhaseAwaitingApproval, Signals: []workflows.SignalRecord{{
		Name: "approve", Identity: "mallory\u202E", At: at, Via: "signal", Reason: "not an approver",
		Comment: "[approve](javascript:alert(document.cookie)) ![](https://tracker.example/p.gif)"}}})
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	row := ""
	for _, l := range strings.Split(md.String(), "\n") {
		if strings.Contains(l, "| approve | mallory") {
			row = l
		}
	}
	want := `| mallory&lt;U+202E&gt; (authenticated: no (name as typed); client identity: none recorded; key: unsigned) | \[approve\](javascript:alert(document.cookie)) !\[\](https\://tracker.example/p.gif) |`
	if !strings.Contains(row, want) {
		t.Fatalf("row %q\nlacks %q", row, want)
	}
}

// Errors in the reports are one line without Temporal's wrapper chain;
// report.json keeps the full text.
func TestErrorsReadAsOneLine(t *testing.T) {
	full := "cutover step stop_db: activity error (type: RunCommand, scheduledEventID: 40, startedEventID: 41, identity: 4242@worker-1@): " +
		"stop_db on fin_pb exited 1: database busy (type: CommandFailed, retryable: false)"
	if got, want := errorLine(full), "cutover step stop_db: stop_db on fin_pb exited 1: database busy"; got != want {
		t.Fatalf("errorLine = %q, want %q", got, want)
	}
	child := "move app: child workflow execution error (type: umzug.Move, workflowID: umzug/p/app, runID: r1, initiatedEventID: 5, startedEventID: 6): " +
		"activity error (type: Preflight, scheduledEventID: 11, startedEventID: 12, identity: w@h@): host key mismatch"
	if got, want := errorLine(child), "move app: host key mismatch"; got != want {
		t.Fatalf("errorLine = %q, want %q", got, want)
	}
	r := &Report{WorkflowID: "umzug/p/a", WorkflowType: workflows.MoveWorkflow, Closed: true, Error: full,
		Commands: []Command{{Purpose: "step stop_db", Host: "fin_pb", Command: "x", Failure: full}}}
	files, err := renderReports(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"report.md", "report.html"} {
		if strings.Contains(string(files[n]), "scheduledEventID") || !strings.Contains(string(files[n]), "stop\\_db on fin\\_pb exited 1: database busy") && !strings.Contains(string(files[n]), "stop_db on fin_pb exited 1: database busy") {
			t.Errorf("%s shows the error chain or lacks the message", n)
		}
	}
	if !strings.Contains(string(files["report.json"]), "scheduledEventID: 40") {
		t.Error("report.json lost the full error")
	}
}

// A failover's report shows the emergency rule it ran under, not the
// cutover's approval rule.
func TestFailoverReportShowsEmergencyRule(t *testing.T) {
	e, err := NewEvidence("umzug/record/print/failover/20261201T122546Z", loadHistory(t, "../../workflows/testdata/modes/failover.json"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := renderReports(e.Report)
	if err != nil {
		t.Fatal(err)
	}
	md := string(files["report.md"])
	for _, want := range []string{"| Rule | emergency (failover) |", "| Emergency approvers | k.meier, s.wolf |",
		"| Quorum | 1 emergency approver starts the failover; a second, different emergency approver confirms it |", "| Confirmation due within | 1h0m0s |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, bad := range []string{"| Approvers |", "| Four-eyes", "No approval rule: a rehearsal"} {
		if strings.Contains(md, bad) {
			t.Errorf("report.md shows the cutover's rule: %q", bad)
		}
	}
	html := string(files["report.html"])
	if !strings.Contains(html, "<tr><th>Emergency approvers</th><td>k.meier, s.wolf</td></tr>") || strings.Contains(html, "<th>Four-eyes") {
		t.Error("report.html does not show the emergency rule instead of the cutover's")
	}
	var rj map[string]any
	json.Unmarshal(files["report.json"], &rj)
	if rj["emergency_rule"] == nil || rj["approval_rule"] != nil {
		t.Errorf("report.json rules: emergency %v, approval %v", rj["emergency_rule"], rj["approval_rule"])
	}
}

// Each decision says the name is as typed and shows the client identity
// the server recorded with it.
func TestDecisionsShowSender(t *testing.T) {
	e, err := NewEvidence("umzug/finance/finance", loadHistory(t, "testdata/demo_rollback.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range e.Report.Decisions {
		got = append(got, d.Identity+"="+d.ClientIdentity)
		if d.Authenticated || d.KeyFingerprint != "" {
			t.Errorf("decision %+v claims authentication", d)
		}
	}
	if !strings.Contains(strings.Join(got, " "), "mallory=mallory@umzug-cli b.schulz=b.schulz@umzug-cli c.yilmaz=c.yilmaz@umzug-cli") {
		t.Fatalf("senders %v", got)
	}
}
