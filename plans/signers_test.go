package plans

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGxj6Uwq1l3dS8S4cQ9f3r0C0wTzQ2h1m3Cz3h0xq0pO"
	keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF6hM5m8pX0Wq2u4b6a1y1Yk3u6Zt3Vb8vQq5m2pZQ2c"
)

// loadSignedPlan writes the digest plan with signers = "FILE" in its
// approval block and signers as that file's content.
func loadSignedPlan(t *testing.T, signers string) (*Plan, string, error) {
	t.Helper()
	dir := t.TempDir()
	src := strings.Replace(digestPlan, "require_run_digest = true", "require_run_digest = true\n      signers = \"keys/approvers\"", 1)
	path := filepath.Join(dir, "p.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "keys", "approvers"), []byte(signers), 0o600); err != nil {
		t.Fatal(err)
	}
	p, diags := Load([]string{path}, LoadOptions{})
	if diags.HasErrors() {
		var errs []string
		for _, d := range diags.Errs() {
			errs = append(errs, d.Error())
		}
		return p, path, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return p, path, nil
}

// The signers file is read relative to the plan, its bytes travel with
// the approval, and its digest changes the run digest.
func TestApprovalSigners(t *testing.T) {
	content := "a.meier,b.schulz " + keyA + "\nops.oncall " + keyB + " pager\n"
	p, _, err := loadSignedPlan(t, content)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Applications[0].Cutover.Approval.Signers
	if s == nil || string(s.Bytes) != content || len(s.SHA256) != 64 {
		t.Fatalf("signers = %+v", s)
	}
	other, _, err := loadSignedPlan(t, "a.meier,b.schulz "+keyB+"\nops.oncall "+keyB+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.SHA256 != other.SHA256 || p.RunDigest() == other.RunDigest() {
		t.Fatal("another signers file must change the run digest (and not the plan sha256)")
	}
	if loadDigestPlan(t, nil).RunDigest() == p.RunDigest() {
		t.Fatal("naming signers must change the run digest")
	}
}

// An approver or operator without a principal line, a malformed line and
// an oversized file are errors at the attribute, naming what to fix.
func TestApprovalSignersErrors(t *testing.T) {
	for name, c := range map[string]struct{ content, want string }{
		"missing":   {"a.meier " + keyA + "\n", `has no principal line for "b.schulz", "ops.oncall"`},
		"malformed": {"a.meier,b.schulz,ops.oncall " + keyA + "\n# x\nb.schulz ssh-ed25519 notbase64\n", "keys/approvers:3:"},
		"too large": {strings.Repeat("# "+strings.Repeat("x", 1000)+"\n", 70), "larger than 65536 bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			_, path, err := loadSignedPlan(t, c.content)
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.Contains(msg, filepath.Base(path)+":") {
				t.Fatalf("error %q, want %q at the plan's signers attribute", msg, c.want)
			}
		})
	}
}
