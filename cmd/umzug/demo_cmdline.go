package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/plans"
)

// planCommandArgs are the plan file and its --var flags as a demo ran
// them, so a printed command (`umzug approve … --plan …`, `umzug
// failover …`) loads the same plan with the same run digest. Sensitive
// variables are left out: their values are never printed.
func planCommandArgs(p *plans.Plan, file string, vars map[string]string) string {
	sensitive := map[string]bool{}
	for _, v := range p.Variables {
		sensitive[v.Name] = v.Sensitive
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		if !sensitive[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	parts := []string{shellQuote(file)}
	for _, k := range names {
		parts = append(parts, "--var", shellQuote(k+"="+vars[k]))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell unless it needs none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:@,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sdkLogFile opens the file the embedded worker's SDK log goes to in the
// demos, so its lines (an activity that failed and is retried, as the
// failover's probe of a lost site does) stay out of the story. The demo
// directory was just made afresh: the file must not exist yet.
func sdkLogFile(dir string) (io.WriteCloser, string, error) {
	path := filepath.Join(dir, "temporal-sdk.log")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("demo: open the SDK log: %w", err)
	}
	return f, path, nil
}

// demoHostsLine names the finance application's further hosts (database,
// file share, name server) and where their SSH servers listen.
func demoHostsLine(env *demo.Env) string {
	names := make([]string, 0, len(env.Hosts))
	for n := range env.Hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, n+" "+env.Hosts[n].Server.Addr())
	}
	if len(parts) == 0 {
		return ""
	}
	return "  Further hosts       ssh " + strings.Join(parts, ", ") + "\n"
}
