package plans

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in canonical layout (hclwrite.Format: indentation,
// aligned equals signs, spacing). Source with syntax errors is returned
// unchanged with the errors, because formatting a broken file could make
// it worse. Formatting is idempotent.
func Format(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	_, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return src, diags
	}
	return hclwrite.Format(src), diags
}
