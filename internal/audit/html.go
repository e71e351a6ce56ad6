package audit

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"text/template/parse"
)

// htmlTemplate renders report.html: one self-contained page (inline CSS
// and SVG, no script, no external resource) laid out for A4. html/template
// escapes every value for its context, and visibleActions makes every
// value show its control and invisible format characters first.
var htmlTemplate = visibleActions(template.Must(template.New("report.html.tmpl").Funcs(commonFuncs()).Funcs(template.FuncMap{
	"f":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"sub": func(a, b float64) float64 { return a - b },
	"add": func(a, b float64) float64 { return a + b },
	// vis shows control characters (CR as ␍, LF as ␊) that HTML would
	// fold into spaces, so a crafted comment looks as odd as it is.
	"vis": visibleAny,
	// visPre is vis for a <pre> block: line breaks and tabs kept.
	"visPre": visibleKeepLines,
}).ParseFS(templateFS, "templates/report.html.tmpl")))

// visibleAny applies visible to a string and passes other values through.
func visibleAny(v any) any {
	if s, ok := v.(string); ok {
		return visible(s)
	}
	return v
}

// visibleKeepLines is visible for each line of a multi-line text.
func visibleKeepLines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r", "\u240d"), "\n")
	for i, l := range lines {
		lines[i] = visibleKeepTabs(l)
	}
	return strings.Join(lines, "\n")
}

// visibleActions ends every value action of the templates with vis
// unless it already ends with vis, visPre or f (a number): no value,
// present or added later to the template, reaches the page with a
// bidirectional override or control character in it.
func visibleActions(t *template.Template) *template.Template {
	done := map[string]bool{"vis": true, "visPre": true, "f": true}
	var walk func(tree *parse.Tree, n parse.Node)
	walk = func(tree *parse.Tree, n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(tree, c)
			}
		case *parse.ActionNode:
			p := n.Pipe
			if len(p.Decl) > 0 || len(p.Cmds) == 0 {
				return
			}
			last := p.Cmds[len(p.Cmds)-1].Args
			if id, ok := last[0].(*parse.IdentifierNode); ok && done[id.Ident] {
				return
			}
			vis := parse.NewIdentifier("vis").SetTree(tree).SetPos(n.Pos)
			p.Cmds = append(p.Cmds, &parse.CommandNode{NodeType: parse.NodeCommand, Pos: n.Pos, Args: []parse.Node{vis}})
		case *parse.IfNode:
			walk(tree, n.List)
			walk(tree, n.ElseList)
		case *parse.RangeNode:
			walk(tree, n.List)
			walk(tree, n.ElseList)
		case *parse.WithNode:
			walk(tree, n.List)
			walk(tree, n.ElseList)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree, tt.Tree.Root)
		}
	}
	return t
}

// htmlView adds the timeline to the report for the template.
type htmlView struct {
	*Report
	Timeline *Timeline
}

// WriteHTML writes the report as a printable page with a timeline.
func (r *Report) WriteHTML(w io.Writer) error {
	if err := htmlTemplate.Execute(w, htmlView{Report: r, Timeline: r.timeline()}); err != nil {
		return fmt.Errorf("render report.html of %s: %w", r.WorkflowID, err)
	}
	return nil
}
