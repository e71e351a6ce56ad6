package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanShowsSSHConfigEffectiveValues: a host named by an alias shows
// the address, port and jump host ~/.ssh/config gives it; the key the
// plan names stays.
func TestPlanShowsSSHConfigEffectiveValues(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	cfg := "Host pb-alias\n  HostName pb.example.org\n  Port 2201\n  IdentityFile ~/.ssh/other\n  ProxyJump ops@bastion.example.org\n"
	if err := os.WriteFile(filepath.Join(home, ".ssh/config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(home, "app.hcl")
	os.WriteFile(planFile, []byte(sitesPlan), 0o644)
	code, out, errOut := cli(t, "plan", "--offline", planFile, "--var", "root=/srv", "--var", "pb_address=pb-alias", "--var", "lg_address=10.0.0.9:22")
	if code != 0 {
		t.Fatalf("plan: exit %d %s", code, errOut)
	}
	want := "source  host.app_pb  migrate@pb-alias:22  in paderborn  queue paderborn\n          ~/.ssh/config: address pb.example.org:2201, jump ops@bastion.example.org"
	if !strings.Contains(out, want) {
		t.Fatalf("plan output lacks\n%s\n%s", want, out)
	}
	if strings.Contains(out, "identity_file ~/.ssh/other") {
		t.Fatal("the config's IdentityFile replaced the plan's")
	}
	if i := strings.Index(out, "target  host.app_lg"); i < 0 || strings.Contains(strings.SplitN(out[i:], "\n", 3)[1], "~/.ssh/config") {
		t.Fatalf("a host the config does not match shows a note:\n%s", out)
	}
}
