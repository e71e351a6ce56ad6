package audit

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/identity"
	"github.com/umzug-dev/umzug/workflows"
)

// WindowCheck says whether the cutover ran inside the agreed window.
type WindowCheck struct {
	NotBefore time.Time `json:"not_before"`
	Closes    time.Time `json:"closes"`
	// Planned is the window the plan gave; it differs from NotBefore and
	// Closes when the move was rescheduled.
	PlannedNotBefore time.Time `json:"planned_not_before"`
	CutoverStarted   time.Time `json:"cutover_started,omitempty"`
	CutoverEnded     time.Time `json:"cutover_ended,omitempty"`
	StartedInside    *bool     `json:"started_inside,omitempty"`
	EndedInside      *bool     `json:"ended_inside,omitempty"`
	Verdict          string    `json:"verdict"`
}

// HostKey is the host key a move verified for one host.
type HostKey struct {
	Role        string `json:"role"` // source, target
	Host        string `json:"host"`
	Address     string `json:"address"`
	Fingerprint string `json:"fingerprint"`
	// KnownHosts is the file every connection checked the key against.
	KnownHosts string `json:"known_hosts"`
}

// Manifest is one copy manifest: where it lives on the target, its
// digest in history and, in an evidence bundle, whether it was fetched
// and matched that digest.
type Manifest struct {
	Set     string `json:"set"`
	Phase   string `json:"phase"`
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Entries int64  `json:"entries"`
	Fetched bool   `json:"fetched"`
	Matched bool   `json:"matched"`
	// File is the manifest's path inside the bundle; HostKey is the
	// target's key fingerprint the fetch verified.
	File    string `json:"file,omitempty"`
	HostKey string `json:"host_key,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Decision is the workflow's record of a signal or update and how it met
// the approval rule, as re-checked from history.
type Decision struct {
	workflows.SignalRecord
	RuleCheck string `json:"rule_check"`
	// Violation is set when the workflow accepted a decision the rule
	// recorded in history does not allow.
	Violation bool `json:"violation,omitempty"`
	// Identity is the name the sender typed into the signal or update:
	// nothing authenticates it. ClientIdentity is the identity the
	// sender's Temporal client reported, as the server recorded it with
	// the matching signal or update ("" none recorded: a Web UI signal
	// records none, and a workflow's own records have no sender).
	// KeyFingerprint is the SSH key that signed the decision's statement
	// ("" unsigned); Authenticated is true only for a signed decision.
	ClientIdentity string `json:"client_identity"`
	Authenticated  bool   `json:"authenticated"`
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// SignatureProblem says why a signature the workflow accepted does
	// not verify again from the history (checkSignature).
	SignatureProblem string `json:"signature_problem,omitempty"`
}

// matchSenders finds for each decision taken on a signal or update the
// event the server recorded for it: the first unused one of the same
// kind and name whose payload names the same person.
func (r *Report) matchSenders() {
	used := make([]bool, len(r.Received))
	for i := range r.Decisions {
		d := &r.Decisions[i]
		if d.Via != "signal" && d.Via != "update" {
			continue
		}
		for j, rc := range r.Received {
			if used[j] || rc.Kind != d.Via || rc.Name != d.Name || !payloadNames(rc.Payload, d.Identity) {
				continue
			}
			used[j], d.ClientIdentity = true, rc.Identity
			break
		}
	}
}

// payloadNames says whether a signal or update payload names who (its
// "approver" or "by"; the workflow may have normalised the name).
func payloadNames(payload []byte, who string) bool {
	var p struct {
		Approver string `json:"approver"`
		By       string `json:"by"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return false
	}
	name := p.Approver
	if name == "" {
		name = p.By
	}
	return name == who || identity.Same(name, who)
}

// deriveEvidence fills what the report states beyond the raw records:
// window check, rule checks, host keys and the manifest list.
func (r *Report) deriveEvidence() {
	r.Window = r.windowCheck()
	r.Decisions = r.Decisions[:0]
	approvals := 0 // accepted since the start or the last voiding
	for _, s := range r.signals {
		d := r.checkDecision(s)
		r.checkSignature(&d)
		// The workflow cannot see an update's sender; its history event can.
		for _, rc := range r.Received {
			if s.UpdateID != "" && rc.UpdateID == s.UpdateID {
				d.Sender = "client identity " + rc.Identity + " (history event)"
			}
		}
		switch {
		case s.Name == workflows.RecordApprovalsVoided:
			approvals = 0
		case s.Name == workflows.SignalApprove && s.Accepted && r.Approval != nil:
			approvals++
			d.RuleCheck = fmt.Sprintf("approval %d of quorum %d; %s", approvals, r.Approval.Quorum, d.RuleCheck)
		}
		r.Decisions = append(r.Decisions, d)
	}
	r.matchSenders()
	r.HostKeys = nil
	if r.in != nil && r.preflight != nil {
		r.HostKeys = []HostKey{
			{Role: "source", Host: r.in.Source.Name, Address: r.in.Source.Address, Fingerprint: r.preflight.SourceFingerprint, KnownHosts: r.in.Source.KnownHosts},
			{Role: "target", Host: r.in.Target.Name, Address: r.in.Target.Address, Fingerprint: r.preflight.TargetFingerprint, KnownHosts: r.in.Target.KnownHosts},
		}
		r.HostKeys = append(r.HostKeys, r.otherHostKeys()...)
	}
	old := map[string]Manifest{}
	for _, m := range r.Manifests {
		old[m.Path] = m
	}
	r.Manifests = nil
	for _, c := range r.Copies {
		if c.ManifestPath == "" {
			continue
		}
		m := Manifest{Set: c.Set, Phase: c.Phase, Path: c.ManifestPath, SHA256: c.ManifestSHA256, Entries: c.ManifestEntries}
		if o, ok := old[c.ManifestPath]; ok {
			m.Fetched, m.Matched, m.File, m.HostKey, m.Note = o.Fetched, o.Matched, o.File, o.HostKey, o.Note
		}
		r.Manifests = append(r.Manifests, m)
	}
}

// windowCheck compares the cutover's phase changes with the window in
// force (the rescheduled one if any).
func (r *Report) windowCheck() *WindowCheck {
	w := r.window
	if w == nil && r.in != nil {
		w = r.in.Cutover.Window
	}
	if w == nil {
		return nil
	}
	wc := &WindowCheck{NotBefore: w.NotBefore, Closes: w.NotBefore.Add(w.Duration), PlannedNotBefore: w.NotBefore}
	if r.in != nil && r.in.Cutover.Window != nil {
		wc.PlannedNotBefore = r.in.Cutover.Window.NotBefore
	}
	for i, p := range r.Phases {
		if p.Phase == workflows.PhaseCutover && wc.CutoverStarted.IsZero() {
			wc.CutoverStarted = p.At
			if i+1 < len(r.Phases) {
				wc.CutoverEnded = r.Phases[i+1].At
			}
		}
	}
	inside := func(t time.Time) *bool {
		ok := !t.Before(wc.NotBefore) && !t.After(wc.Closes)
		return &ok
	}
	switch {
	case wc.CutoverStarted.IsZero():
		wc.Verdict = "cutover did not start"
	case wc.CutoverEnded.IsZero():
		wc.StartedInside = inside(wc.CutoverStarted)
		wc.Verdict = fmt.Sprintf("cutover started %s the window and has not ended", insideWord(*wc.StartedInside))
	default:
		wc.StartedInside, wc.EndedInside = inside(wc.CutoverStarted), inside(wc.CutoverEnded)
		wc.Verdict = fmt.Sprintf("cutover started %s and ended %s the window", insideWord(*wc.StartedInside), insideWord(*wc.EndedInside))
	}
	return wc
}

func insideWord(ok bool) string {
	if ok {
		return "inside"
	}
	return "OUTSIDE"
}

// checkDecision says, from the rule in the move's input, why a decision
// was allowed, and flags an accepted decision the rule does not allow.
func (r *Report) checkDecision(s workflows.SignalRecord) Decision {
	d := Decision{SignalRecord: s}
	if !s.Accepted {
		d.RuleCheck = "refused by the workflow: " + s.Reason
		if s.Name == workflows.RecordApprovalsVoided {
			d.RuleCheck = "approvals voided: " + s.Reason
		}
		return d
	}
	if e, ok := r.checkEmergency(s); ok {
		return e
	}
	var rule *workflows.ApprovalRule
	if r.in != nil {
		rule = r.in.Cutover.Approval
	}
	if rule == nil {
		d.RuleCheck = "no approval rule (rehearsal)"
		return d
	}
	var ok, bad []string
	note := func(cond bool, yes, no string) {
		if cond {
			ok = append(ok, yes)
		} else {
			bad = append(bad, no)
		}
	}
	switch s.Name {
	case workflows.SignalApprove:
		note(identity.Index(rule.Approvers, s.Identity) >= 0, "listed approver", "not a listed approver")
		if rule.FourEyes {
			note(!identity.LookAlike(s.Identity, r.StartedBy), "not the starter (four-eyes)", "is the starter (four-eyes)")
		}
		if r.deadline != nil {
			note(!s.At.After(*r.deadline), "before the deadline "+ts(*r.deadline), "after the deadline "+ts(*r.deadline))
		}
		if rule.RequireRunDigest {
			note(s.RunDigest != "" && s.RunDigest == r.RunDigest, "bound to the run digest", "not bound to the run digest")
		} else if s.RunDigest != "" {
			note(s.RunDigest == r.RunDigest, "run digest matches", "run digest differs")
		}
	case workflows.SignalCommit, workflows.SignalRollback:
		ops := rule.Operators
		if len(ops) == 0 {
			ops = rule.Approvers
		}
		note(identity.Index(ops, s.Identity) >= 0, "listed operator", "not a listed operator")
	case workflows.SignalReject, workflows.SignalReschedule:
		note(identity.Index(rule.Approvers, s.Identity) >= 0, "listed approver", "not a listed approver")
	}
	d.RuleCheck = strings.Join(ok, "; ")
	if len(bad) > 0 {
		d.Violation = true
		d.RuleCheck = "RULE NOT MET: " + strings.Join(bad, "; ")
		if len(ok) > 0 {
			d.RuleCheck += " (met: " + strings.Join(ok, "; ") + ")"
		}
	}
	if d.RuleCheck == "" {
		d.RuleCheck = "accepted"
	}
	return d
}

// Output tails of failed commands are bounded and redacted once more: the
// worker already replaced secret values, this also hides anything that
// looks like a credential assignment.
const (
	tailLines = 12
	tailBytes = 1500
)

var credential = regexp.MustCompile(`(?i)\b(password|passwd|pwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*|\s+)("[^"]*"|'[^']*'|\S+)`)

// outputTail returns the redacted last lines of a failed command's output.
func outputTail(res contract.CommandResult) string {
	s := strings.TrimRight(res.Stdout, "\n")
	if e := strings.TrimRight(res.Stderr, "\n"); e != "" {
		if s != "" {
			s += "\n"
		}
		s += e
	}
	if s == "" {
		return ""
	}
	s = credential.ReplaceAllString(s, "$1$2(redacted)")
	lines := strings.Split(s, "\n")
	if len(lines) > tailLines {
		lines = append([]string{fmt.Sprintf("… %d earlier lines not shown", len(lines)-tailLines)}, lines[len(lines)-tailLines:]...)
	}
	s = strings.Join(lines, "\n")
	if len(s) > tailBytes {
		s = "…" + strings.ToValidUTF8(s[len(s)-tailBytes:], "")
	}
	return s
}

// otherHostKeys are the host keys preflight verified for the hosts of a
// multi-host move besides its source and target, with their roles.
func (r *Report) otherHostKeys() []HostKey {
	var out []HostKey
	for _, h := range r.hosts {
		if h.Name == r.in.Source.Name || h.Name == r.in.Target.Name {
			continue
		}
		k := HostKey{Role: strings.Join(h.Roles, ", "), Host: h.Name, Fingerprint: h.Fingerprint}
		for _, in := range r.in.Hosts {
			if in.Name == h.Name {
				k.Address, k.KnownHosts = in.Address, in.KnownHosts
			}
		}
		out = append(out, k)
	}
	return out
}
