package plans

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// limitedFunctions wraps every function so that each call spends from b:
// a call, the size of its arguments and of its result. Functions whose
// result size is known from their arguments (setproduct, format widths,
// indent) are refused before they run, so they never allocate the result.
func limitedFunctions(b *budget) map[string]function.Function {
	out := make(map[string]function.Function, len(functions))
	for name, f := range functions {
		out[name] = limited(name, f, b)
	}
	return out
}

func limited(name string, f function.Function, b *budget) function.Function {
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      f.Params(),
		VarParam:    f.VarParam(),
		Type:        f.ReturnTypeForValues,
		Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
			if err := b.checkArgs(args); err != nil {
				return b.refuse(err, retType)
			}
			if err := precheck(name, args); err != nil {
				return cty.NilVal, err
			}
			v, err := f.Call(args)
			if err != nil {
				return v, err
			}
			if err := b.checkSize(v); err != nil {
				return b.refuse(err, retType)
			}
			return v, nil
		},
	})
}

// checkArgs charges a call and the size of its arguments.
func (b *budget) checkArgs(args []cty.Value) error {
	if !b.spend(1) {
		return errSpent
	}
	for _, a := range args {
		if err := b.checkSize(a); err != nil {
			return err
		}
	}
	return nil
}

// refuse turns a spent budget into its one diagnostic (later calls yield
// unknown values silently); other errors are returned as they are.
func (b *budget) refuse(err error, retType cty.Type) (cty.Value, error) {
	if err != errSpent {
		return cty.NilVal, err
	}
	if e := b.exhausted(); e != nil {
		return cty.NilVal, e
	}
	return cty.UnknownVal(retType), nil
}

// precheck refuses calls whose result would exceed the limits, from the
// arguments alone.
func precheck(name string, args []cty.Value) error {
	switch name {
	case "setproduct":
		n := 1.0
		for _, a := range args {
			if a, _ := a.Unmark(); a.IsKnown() && !a.IsNull() && a.CanIterateElements() {
				n *= float64(a.LengthInt())
			}
		}
		if n > MaxCollection {
			return fmt.Errorf("the product would have %s elements, more than the %d a collection may have; narrow the sets", fmtCount(n), MaxCollection)
		}
	case "format", "formatlist":
		if len(args) > 0 {
			return checkFormatWidths(args[0])
		}
	case "indent":
		if len(args) > 0 {
			if a, _ := args[0].Unmark(); a.IsKnown() && !a.IsNull() && a.Type() == cty.Number {
				if f, _ := a.AsBigFloat().Float64(); f > MaxString {
					return function.NewArgErrorf(0, "indenting by %s spaces makes lines longer than the %d bytes a string may have", fmtCount(f), MaxString)
				}
			}
		}
	}
	return nil
}

// widthRE finds the width and precision numbers of format verbs.
var widthRE = regexp.MustCompile(`%[-+# 0]*(\d*)(?:\.(\d*))?`)

func checkFormatWidths(spec cty.Value) error {
	spec, _ = spec.Unmark()
	if !spec.IsKnown() || spec.IsNull() || spec.Type() != cty.String {
		return nil
	}
	for _, m := range widthRE.FindAllStringSubmatch(spec.AsString(), -1) {
		for _, d := range m[1:] {
			if n, err := strconv.Atoi(d); (err == nil && n > MaxString) || len(d) > 9 {
				return function.NewArgErrorf(0, "the width or precision %s in %q is larger than the %d bytes a string may have", d, m[0], MaxString)
			}
		}
	}
	return nil
}

func fmtCount(f float64) string {
	if f >= 1e15 || math.IsInf(f, 0) {
		return fmt.Sprintf("%.3g", f)
	}
	return strconv.FormatFloat(f, 'f', 0, 64)
}
