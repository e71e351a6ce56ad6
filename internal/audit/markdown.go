package audit

import (
	"embed"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

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

// visible replaces control characters by their Unicode control pictures
// (CR becomes ␍, LF ␊), so a value stays on one line and shows what it held.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20:
			return 0x2400 + r
		case r == 0x7f:
			return 0x2421
		}
		return r
	}, s)
}

var cellEscaper = strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", "`", "\\`")

// cell escapes a value for a Markdown table cell: no CR or LF (they end
// the row), no unescaped | (it ends the cell), no HTML tag, no code span.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	return cellEscaper.Replace(visible(s))
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
		exit += " (" + c.Failure + ")"
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
	return "refused: " + d.Reason
}

// WriteMarkdown writes the human-readable report.
func (r *Report) WriteMarkdown(w io.Writer) error {
	if err := mdTemplate.Execute(w, r); err != nil {
		return fmt.Errorf("render report.md of %s: %w", r.WorkflowID, err)
	}
	return nil
}
