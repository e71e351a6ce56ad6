package plans

import (
	"strings"
	"testing"
	"time"
)

// Plans that once made validate run for a minute and take gigabytes now
// fail at once with a diagnostic at the costly expression.
func TestCostlyPlansFailFast(t *testing.T) {
	cases := []struct {
		name, src, summary, detail string
		line                       int
	}{
		{"setproduct", `locals {
  r = range(1000)
  p = setproduct(local.r, local.r, local.r, local.r)
}
`, "Error in function call", "more than the 10000 a collection may have", 3},
		{"nested for", `locals {
  r = range(1000)
  p = [for a in local.r : [for b in local.r : [for c in local.r : a + b + c]]]
}
`, "Plan evaluation too costly", "more than 200000 steps", 3},
		{"string doubling", `locals {
  a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  b = "${local.a}${local.a}${local.a}${local.a}${local.a}${local.a}${local.a}${local.a}"
  c = "${local.b}${local.b}${local.b}${local.b}${local.b}${local.b}${local.b}${local.b}"
  d = "${local.c}${local.c}${local.c}${local.c}${local.c}${local.c}${local.c}${local.c}"
  e = "${local.d}${local.d}${local.d}${local.d}${local.d}${local.d}${local.d}${local.d}"
}
`, "Value too large", "longer than the 65536", 6},
		{"format width", `locals {
  s = format("%999999999d", 1)
}
`, "Invalid function argument", "larger than the 65536 bytes", 2},
		{"shared lists", `locals {
  r = range(1000)
  l = [for i in local.r : local.r]
}
`, "Plan evaluation too costly", "more than 200000 steps", 3},
		{"flatten", `locals {
  r = range(200)
  l = [for i in local.r : local.r]
  f = flatten(local.l)
}
`, "Error in function call", "larger than the 10000", 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := loadSources("cost", []source{{path: "cost.hcl", src: []byte(c.src)}}, LoadOptions{})
			if !diags.HasErrors() {
				t.Fatal("plan loaded without errors")
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary+": "+d.Detail)
				if d.Summary == c.summary && strings.Contains(d.Detail, c.detail) && d.Subject != nil && d.Subject.Start.Line == c.line {
					return
				}
			}
			t.Fatalf("want %q containing %q on line %d, got:\n%s", c.summary, c.detail, c.line, strings.Join(got, "\n"))
		})
	}
}

// The wall-clock bound holds even when each step is cheap: the clock is
// read every 4096 steps.
func TestBudgetTimeLimit(t *testing.T) {
	b := newBudget()
	now := b.started
	b.now = func() time.Time { return now }
	if !b.spend(4000) {
		t.Fatal("budget spent too early")
	}
	now = now.Add(MaxEvalTime + time.Second)
	if b.spend(200) {
		t.Fatal("budget holds after the time limit")
	}
	if err := b.exhausted(); err == nil || !strings.Contains(err.Error(), "longer than 10s") {
		t.Fatalf("exhausted() = %v, want the time limit named", err)
	}
	if b.exhausted() != nil {
		t.Fatal("the spent budget is reported twice")
	}
}

// JSON-syntax templates are parsed only while evaluating, so their loops
// cannot be metered; nested ones are refused before evaluation.
func TestNestedLoopsInJSONRefused(t *testing.T) {
	src := `{"locals": {"r": "${range(1000)}", "p": "${[for a in local.r : [for b in local.r : [for c in local.r : a + b + c]]]}"}}`
	_, diags := loadSources("cost", []source{{path: "cost.hcl.json", src: []byte(src)}}, LoadOptions{})
	for _, d := range diags {
		if d.Summary == "Nested for expressions in JSON syntax" && d.Subject != nil && d.Subject.Start.Column == 41 {
			return
		}
	}
	t.Fatalf("want the nested loops refused at the p value, got %v", diags)
}
