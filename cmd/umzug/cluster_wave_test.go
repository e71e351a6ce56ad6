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
	pb, lg := env.Paderborn.Root, env.Lemgo.Root
	var b strings.Builder
	fmt.Fprintf(&b, `datacenter "pb" {}
datacenter "lg" {}
host "pb" {
  datacenter    = datacenter.pb
  address       = %q
  user          = "migrate"
  identity_file = "%s/keys/umzug_ed25519"
  known_hosts   = "%s/keys/known_hosts"
}
host "lg" {
  datacenter    = datacenter.lg
  address       = %q
  user          = "migrate"
  identity_file = "%s/keys/umzug_ed25519"
  known_hosts   = "%s/keys/known_hosts"
}
`, env.Paderborn.Server.Addr(), env.Dir, env.Dir, env.Lemgo.Server.Addr(), env.Dir, env.Dir)
	var members []string
	for c := 0; c < chains; c++ {
		for i := 0; i < length; i++ {
			app := fmt.Sprintf("c%02d_%03d", c, i)
			src := filepath.Join(pb, "srv", name, app)
			if err := os.MkdirAll(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "data.txt"), []byte(app+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			deps := ""
			if i > 0 {
				deps = fmt.Sprintf("depends_on = [application.c%02d_%03d]", c, i-1)
			}
			fmt.Fprintf(&b, `application %q {
  source = host.pb
  target = host.lg
  %s
  copy "data" {
    from = %q
    to   = %q
  }
  cutover {
    final_sync {}
  }
}
`, app, deps, src, filepath.Join(lg, "srv", name, app))
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
