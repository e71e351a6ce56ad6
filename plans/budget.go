package plans

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Evaluation limits. A plan is a description of a move, not a program:
// these bounds are far above what any real plan needs and keep `umzug
// validate` fast on any input (a four-line setproduct once took 54 s and
// 11 GB).
const (
	// MaxCollection is the most elements any collection made by a function
	// or by evaluation may hold.
	MaxCollection = 10_000
	// MaxString is the longest string (bytes) evaluation may produce.
	MaxString = 64 << 10
	// MaxEvalSteps bounds the work of one load: function calls,
	// for-expression iterations and the size of the values they make.
	MaxEvalSteps = 200_000
	// MaxEvalTime bounds the wall-clock time spent evaluating one plan.
	MaxEvalTime = 10 * time.Second
)

// budget meters the evaluation of one load. Once spent, every further
// metered evaluation yields an unknown value, and only the first place
// that ran out gets a diagnostic.
type budget struct {
	steps    int64
	started  time.Time
	now      func() time.Time
	spent    bool
	reported bool
}

func newBudget() *budget {
	return &budget{started: time.Now(), now: time.Now}
}

// spend charges n steps and reports whether the budget still holds.
func (b *budget) spend(n int64) bool {
	if b.spent {
		return false
	}
	prev := b.steps
	b.steps += n
	// The clock is read every 4096 steps, not on each.
	if b.steps > MaxEvalSteps || (prev>>12 != b.steps>>12 && b.now().Sub(b.started) > MaxEvalTime) {
		b.spent = true
	}
	return !b.spent
}

// exhausted explains the spent budget, once; later calls return nil so a
// runaway loop yields one diagnostic, not thousands.
func (b *budget) exhausted() error {
	if b.reported {
		return nil
	}
	b.reported = true
	if b.steps > MaxEvalSteps {
		return fmt.Errorf("evaluating the plan took more than %d steps (function calls, for-expression iterations and values produced); a plan describes a move and needs far fewer. Reduce nested for expressions or the collections they iterate over", MaxEvalSteps)
	}
	return fmt.Errorf("evaluating the plan took longer than %s; reduce nested for expressions or the collections they iterate over", MaxEvalTime)
}

// exhaustedDiag is exhausted as a diagnostic at rng, or nil.
func (b *budget) exhaustedDiag(rng hcl.Range) hcl.Diagnostics {
	err := b.exhausted()
	if err == nil {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Plan evaluation too costly",
		Detail:   capitalize(err.Error()) + ".",
		Subject:  rng.Ptr(),
	}}
}

// checkSize charges the size of v and refuses collections and strings
// beyond the limits, naming what was too large.
func (b *budget) checkSize(v cty.Value) error {
	n, err := size(v)
	if err != nil {
		return err
	}
	if !b.spend(n) {
		return errSpent
	}
	return nil
}

// errSpent marks a spent budget; callers turn it into exhausted().
var errSpent = fmt.Errorf("evaluation budget spent")

// size counts the elements of v (strings by length) and checks every
// collection and string against the limits. It stops counting once the
// count exceeds the step budget, so values that share structure are not
// walked in full.
func size(v cty.Value) (int64, error) {
	var n int64
	var walk func(v cty.Value) error
	walk = func(v cty.Value) error {
		v, _ = v.Unmark()
		n++
		switch {
		case n > MaxEvalSteps:
			return errSpent
		case !v.IsKnown() || v.IsNull():
			return nil
		case v.Type() == cty.String:
			if l := len(v.AsString()); l > MaxString {
				return fmt.Errorf("a string of %d bytes is longer than the %d a plan value may have", l, MaxString)
			} else {
				n += int64(l) / 64
			}
			return nil
		case !v.CanIterateElements():
			return nil
		}
		if v.Type().IsObjectType() {
			// attributes are written in the plan; count them below
		} else if l := v.LengthInt(); l > MaxCollection {
			return fmt.Errorf("a collection of %d elements is larger than the %d a plan value may have", l, MaxCollection)
		}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if err := walk(e); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(v)
	return n, err
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
