package main

// No build tag: the default e2e tests and the cluster-tagged ones both
// write plans against the demo data centers with these.

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/umzug-dev/umzug/internal/demo"
)

// demoHostsHCL is the plan text for the demo's two data centers and a
// host in each, "pb" (Paderborn) and "lg" (Lemgo), logging in with the
// demo's key and checking the demo's known_hosts.
func demoHostsHCL(env *demo.Env) string {
	return fmt.Sprintf(`datacenter "pb" {}
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
}

// seedSource makes the directory dir holding one file, data.txt, whose
// content is name and a newline: a move's source small enough to copy in
// a moment and distinct per application.
func seedSource(t testing.TB, dir, name string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte(name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// demoAppHCL seeds Paderborn's srv/rel (seedSource) and returns the block
// of application name moving it to Lemgo's srv/rel. dependsOn names
// another application or is empty; a non-empty check is the command of a
// "ready" check on the target after the final sync, tried three times a
// second apart.
func demoAppHCL(t testing.TB, env *demo.Env, name, rel, dependsOn, check string) string {
	t.Helper()
	src := filepath.Join(env.Paderborn.Root, "srv", rel)
	seedSource(t, src, name)
	deps, ready := "", ""
	if dependsOn != "" {
		deps = "depends_on = [application." + dependsOn + "]"
	}
	if check != "" {
		ready = fmt.Sprintf(`
    check "ready" {
      on       = "target"
      run      = %q
      retries  = 2
      interval = "1s"
    }`, check)
	}
	return fmt.Sprintf(`application %q {
  source = host.pb
  target = host.lg
  %s
  copy "data" {
    from = %q
    to   = %q
  }
  cutover {
    final_sync {}%s
  }
}
`, name, deps, src, filepath.Join(env.Lemgo.Root, "srv", rel), ready)
}
