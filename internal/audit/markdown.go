package audit

import (
	"embed"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/umzug-dev/umzug/workflows"
)

//go:embed templates
var templateFS embed.FS

// mdTemplate renders report.md. text/template does not escape, so every
// value passes through cell or code (below).
var mdTemplate = template.Must(template.New("report.md.tmpl").Funcs(commonFuncs()).Funcs(template.FuncMap{
	"cell": cell, "code": code, "indent": indent,
}).ParseFS(templateFS, "templates/report.md.tmpl"))

func ts(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// visible shows what a value holds that a reader would not see: control
// characters become their Unicode control pictures (CR ␍, LF ␊), so a
// value stays on one line; C1 controls, bidirectional overrides and
// isolates (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C), line and
// paragraph separators and every other invisible format character
// (Unicode category Cf: zero-width spaces and joiners, U+FEFF, tags …)
// become <U+XXXX>, so a name cannot be reordered or padded invisibly.
func visible(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x20:
			b.WriteRune(0x2400 + r)
		case r == 0x7f:
			b.WriteRune(0x2421)
		case r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029, unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cell renders a value as inert Markdown text for a table cell or a line:
// visible first (no CR or LF to end the row), then every character
// Markdown gives a meaning escaped: \ | ` * ~ [ ] as backslash escapes
// (no code span, emphasis, strikethrough, link or image), < > & as
// entities (no HTML tag, autolink or entity of the value's own), _ where
// it could start or end emphasis, ":" of "://", "." of "www." and the
// "@" of an e-mail address so no extended autolink forms, and a leading # + - = or "1. " so a value at
// the start of a line is no heading, list or rule.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return mdEscape(visible(s))
}

// emailDomainFollows says whether rs starts with a domain of labels
// separated by dots, which GitHub-flavoured Markdown links as an e-mail
// address after an "@" ("ops@umzug-cli" is not linked, "a@corp.example" is).
func emailDomainFollows(rs []rune) bool {
	dot := false
	for i, r := range rs {
		switch {
		case r == '.' && i > 0 && i+1 < len(rs) && (unicode.IsLetter(rs[i+1]) || unicode.IsDigit(rs[i+1])):
			dot = true
		case r == '.' || r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
		default:
			return dot
		}
	}
	return dot
}

func mdEscape(s string) string {
	rs := []rune(s)
	var b strings.Builder
	alnum := func(i int) bool { return i >= 0 && i < len(rs) && (unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i])) }
	for i, r := range rs {
		switch r {
		case '@':
			if emailDomainFollows(rs[i+1:]) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '\\', '|', '`', '*', '~', '[', ']':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '_':
			if !alnum(i-1) || !alnum(i+1) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case ':':
			if i+2 < len(rs) && rs[i+1] == '/' && rs[i+2] == '/' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '.':
			if i >= 3 && strings.EqualFold(string(rs[i-3:i]), "www") {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		case '#', '+', '-', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	// "1. " or "1)" then a space or the end, at the start, is an ordered
	// list item.
	if n := len(out) - len(strings.TrimLeft(out, "0123456789")); n > 0 && n < len(out) && (out[n] == '.' || out[n] == ')') &&
		(n+1 == len(out) || out[n+1] == ' ' || out[n+1] == '\t') {
		out = out[:n] + "\\" + out[n:]
	}
	return out
}

// code renders a value as inline code in a table cell. Inside a code span
// only | needs escaping in a table; a value holding backticks is fenced
// with a longer run of them.
func code(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.ReplaceAll(visible(s), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || fence != "`" {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// indent makes an indented code block of a multi-line text: every line
// is indented, so no line can end the block or start Markdown of its own.
func indent(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r", "\u240d"), "\n")
	for i, l := range lines {
		lines[i] = "    " + visibleKeepTabs(l)
	}
	return strings.Join(lines, "\n")
}

func visibleKeepTabs(s string) string {
	return strings.ReplaceAll(visible(strings.ReplaceAll(s, "\t", "    ")), "\u2409", "    ")
}

// commonFuncs are the helpers both the Markdown and the HTML template use;
// they return plain text and leave escaping to each format.
func commonFuncs() map[string]any {
	return map[string]any{
		"ts":          ts,
		"yesNo":       func(ok bool) string { return strings.Trim(yesNo(ok), "*") },
		"join":        func(l []string) string { return strings.Join(l, ", ") },
		"dur":         duration,
		"start":       commandStart,
		"exit":        commandExit,
		"attemptExit": attemptExit,
		"role":        attemptRole,
		"verdict":     decisionVerdict,
		"sortedKinds": sortedKinds,
		"accepted":    acceptedKind,
		"unlisted":    unlisted,
		"errline":     errorLine,
		"sender":      decisionSender,
	}
}

func duration(from, to time.Time) string {
	if from.IsZero() || to.IsZero() {
		return "—"
	}
	return to.Sub(from).Round(time.Millisecond).String()
}

func commandStart(c Command) time.Time {
	if c.Started.IsZero() {
		return c.Scheduled
	}
	return c.Started
}

func commandExit(c Command) string {
	exit := "—"
	if c.ExitCode != nil {
		exit = fmt.Sprint(*c.ExitCode)
	}
	if c.Failure != "" {
		exit += " (" + errorLine(c.Failure) + ")"
	}
	return exit
}

func attemptExit(code int) string {
	if code == -1 {
		return "none (killed or unknown)"
	}
	return fmt.Sprint(code)
}

func attemptRole(a Attempt) string {
	role := "ran the command"
	if a.TakenOver {
		role = "took over"
	}
	if a.Note != "" {
		role += "; " + a.Note
	}
	return role
}

func decisionVerdict(d Decision) string {
	switch {
	case d.Name == workflows.RecordApprovalsVoided:
		return "approvals voided"
	case d.Accepted:
		return "accepted"
	}
	return "refused: " + errorLine(d.Reason)
}

// decisionSender says what is known of who sent a decision: the name is
// what the sender typed, the client identity what the sender's Temporal
// client reported, and the key the SSH key that signed the statement.
func decisionSender(d Decision) string {
	client := d.ClientIdentity
	if client == "" {
		client = "none recorded"
	}
	key := d.KeyFingerprint
	if key == "" {
		key = "unsigned"
	}
	auth := "no (name as typed)"
	if d.Authenticated {
		auth = "yes"
	}
	return fmt.Sprintf("authenticated: %s; client identity: %s; key: %s", auth, client, key)
}

// WriteMarkdown writes the human-readable report.
func (r *Report) WriteMarkdown(w io.Writer) error {
	if err := mdTemplate.Execute(w, r); err != nil {
		return fmt.Errorf("render report.md of %s: %w", r.WorkflowID, err)
	}
	return nil
}
