// Package plans reads umzug plans written in HCL (native or JSON syntax)
// and returns a validated, typed Plan together with every diagnostic found,
// each with a source range. It does no I/O beyond reading plan files and
// --var-file files; evaluation is pure (no environment except through
// LoadOptions.Environ's UMZUG_VAR_ values, no clock, no file functions).
//
// The structure follows Terraform's internal/configs: schema.go holds an
// hcl.BodySchema per block, decode_*.go turn one block into its type
// (references stay unresolved, with their ranges), references.go resolves
// them with "did you mean" hints, validate.go runs the checks that need the
// whole plan (cycles, source == target, final_sync rules, waves), and
// variables.go and locals.go build the evaluation context. Diagnostics
// accumulate in the loader rather than stopping it, so one Load reports
// every problem. The language is documented in docs/plan-language.md.
package plans
