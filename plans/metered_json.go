package plans

import (
	"encoding/json"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// checkJSONLoops refuses nested for expressions in the templates of a
// JSON-syntax expression. The JSON decoder parses those templates only
// while evaluating, so their loops cannot be metered like native ones; a
// single loop is bounded by the size of the collection it iterates over,
// nested loops would multiply. Native syntax meters them instead.
func (l *loader) checkJSONLoops(expr hcl.Expression) hcl.Diagnostics {
	rng := expr.Range()
	f := l.parser.Files()[rng.Filename]
	if f == nil || rng.End.Byte > len(f.Bytes) || rng.Start.Byte >= rng.End.Byte {
		return nil
	}
	var v any
	if json.Unmarshal(f.Bytes[rng.Start.Byte:rng.End.Byte], &v) != nil {
		return nil
	}
	for _, s := range jsonStrings(v, nil) {
		if !strings.Contains(s, "for") {
			continue
		}
		tmpl, diags := hclsyntax.ParseTemplate([]byte(s), rng.Filename, rng.Start)
		if diags.HasErrors() {
			continue // the evaluation reports it
		}
		if loopDepth(tmpl) > 1 {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Nested for expressions in JSON syntax",
				Detail:   "A for expression inside another cannot be bounded in a JSON-syntax plan. Write this value in native syntax (a .hcl file), where evaluation is metered, or flatten the loops.",
				Subject:  rng.Ptr(),
			}}
		}
	}
	return nil
}

// jsonStrings collects every string (keys and values) of a decoded JSON value.
func jsonStrings(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = jsonStrings(e, out)
		}
	case map[string]any:
		for k, e := range x {
			out = jsonStrings(e, append(out, k))
		}
	}
	return out
}

// loopWalker measures how deeply for expressions nest.
type loopWalker struct{ depth, max int }

func (w *loopWalker) Enter(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.depth++
		w.max = max(w.max, w.depth)
	}
	return nil
}

func (w *loopWalker) Exit(n hclsyntax.Node) hcl.Diagnostics {
	if _, ok := n.(*hclsyntax.ForExpr); ok {
		w.depth--
	}
	return nil
}

func loopDepth(n hclsyntax.Node) int {
	w := &loopWalker{}
	hclsyntax.Walk(n, w)
	return w.max
}
