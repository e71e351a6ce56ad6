//go:build cluster

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/demo"
)

// chainPlan writes a plan named name with chains × length trivial moves
// (one small file each) between the demo data centers: in every chain each
// application depends on the one before, and all are in one wave.
func chainPlan(t testing.TB, env *demo.Env, name string, chains, length, maxParallel int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(demoHostsHCL(env))
	var members []string
	for c := 0; c < chains; c++ {
		for i := 0; i < length; i++ {
			app := fmt.Sprintf("c%02d_%03d", c, i)
			deps := ""
			if i > 0 {
				deps = fmt.Sprintf("c%02d_%03d", c, i-1)
			}
			b.WriteString(demoAppHCL(t, env, app, filepath.Join(name, app), deps, ""))
			members = append(members, "application."+app)
		}
	}
	fmt.Fprintf(&b, "wave %q {\n  applications = [%s]\n  max_parallel = %d\n}\n", name, strings.Join(members, ", "), maxParallel)
	plan := filepath.Join(env.Dir, name+".hcl")
	if err := os.WriteFile(plan, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return plan
}
