package audit

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
)

// htmlTemplate renders report.html: one self-contained page (inline CSS
// and SVG, no script, no external resource) laid out for A4. html/template
// escapes every value for its context.
var htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(commonFuncs()).Funcs(template.FuncMap{
	"f":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"sub": func(a, b float64) float64 { return a - b },
	"add": func(a, b float64) float64 { return a + b },
	// vis shows control characters (CR as ␍, LF as ␊) that HTML would
	// fold into spaces, so a crafted comment looks as odd as it is.
	"vis": visible,
}).ParseFS(templateFS, "templates/report.html.tmpl"))

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
