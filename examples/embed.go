// Package examples holds plans that run. finance.hcl is the demo plan;
// it is embedded so that `umzug demo` works from any directory.
package examples

import _ "embed"

// Finance is examples/finance.hcl.
//
//go:embed finance.hcl
var Finance []byte

// PrintCenter is examples/print-center.hcl: standby and failover.
//
//go:embed print-center.hcl
var PrintCenter []byte
