package workflows

import (
	"strings"

	"github.com/umzug-dev/umzug/activities/contract"
)

// secretsIn lists the names of a block's secrets that command refers to
// (run and undo of a step share the block's list), so a worker resolves
// only the values a command needs.
func secretsIn(command string, names []string) []string {
	var out []string
	for _, n := range names {
		if strings.Contains(command, "${"+contract.SecretEnvPrefix+n+"}") {
			out = append(out, n)
		}
	}
	return out
}
