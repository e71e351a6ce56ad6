package plans

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const docPath = "../docs/plan-language.md"

var fenceRE = regexp.MustCompile("(?ms)^```([a-z]+(?: fragment)?)\\n(.*?)^```")

// TestDocExamples loads every ```hcl and ```json example of the plan
// language document as a complete plan; they must have no diagnostics.
// Fragments (```hcl fragment) are counted and skipped explicitly.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	var checked, fragments int
	for i, m := range fenceRE.FindAllSubmatch(doc, -1) {
		lang, body := string(m[1]), m[2]
		line := 1 + strings.Count(string(doc[:strings.Index(string(doc), string(m[0]))]), "\n")
		name := fmt.Sprintf("example%02d_line%d", i, line)
		switch lang {
		case "hcl fragment":
			fragments++
			continue
		case "hcl":
			name += ".hcl"
		case "json":
			name += ".hcl.json"
		default:
			continue
		}
		checked++
		t.Run(name, func(t *testing.T) {
			p, diags := loadSources(name, []source{{path: name, src: body}}, LoadOptions{})
			if len(diags) > 0 {
				t.Errorf("%s line %d: example does not validate cleanly:\n%s", docPath, line, renderDiags(p, diags))
			}
		})
	}
	if checked < 8 {
		t.Errorf("only %d complete examples checked", checked)
	}
	if fragments > 6 {
		t.Errorf("%d fragments; keep examples complete where possible", fragments)
	}
	t.Logf("%d complete examples validated, %d fragments skipped", checked, fragments)
}

// TestDocCoversSchema fails when a block or attribute the loader knows is
// not mentioned in the document.
func TestDocCoversSchema(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	schemas := map[string]*hcl.BodySchema{
		"plan": rootSchema, "variable": variableSchema, "validation": validationSchema,
		"datacenter": datacenterSchema, "host": hostSchema, "application": applicationSchema,
		"copy": copySchema, "cutover": cutoverSchema, "window": windowSchema,
		"approval": approvalSchema, "step": stepSchema, "check": checkSchema, "wave": waveSchema,
		"rehearsal": rehearsalSchema, "failback": failbackSchema,
		"standby": standbySchema, "emergency": emergencySchema,
		"offload": offloadSchema, "accept": acceptSchema, "intake": intakeSchema, "done": doneSchema, "results": resultsSchema,
		"parallel": parallelSchema,
	}
	for owner, s := range schemas {
		for _, a := range s.Attributes {
			if !strings.Contains(text, "`"+a.Name+"`") {
				t.Errorf("attribute %s.%s is not documented", owner, a.Name)
			}
		}
		for _, b := range s.Blocks {
			if !strings.Contains(text, "## "+b.Type) && !strings.Contains(text, "### "+b.Type) && b.Type != "validation" {
				t.Errorf("block %s in %s has no section", b.Type, owner)
			}
		}
	}
}
