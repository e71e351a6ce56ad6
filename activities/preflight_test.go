package activities

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/sshserver"
	"github.com/umzug-dev/umzug/internal/testkit"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/activities/contract"
)

func TestPreflightCountsWithExcludes(t *testing.T) {
	src := startTestSSH(t, "fin_pb", sshserver.Options{})
	dst := startTestSSH(t, "fin_lg", sshserver.Options{})
	from := filepath.Join(t.TempDir(), "data")
	testkit.Tree{
		"config/finance.conf":   "12345",      // 5
		"ledger/2026/01.csv":    "0123456789", // 10
		"ledger/2026/02.csv":    "abc",        // 3
		"ledger/scratch.tmp":    "xxxxxxxxxx", // excluded by *.tmp
		"cache/blob.bin":        "yyyyyyyyyy", // excluded by cache/**
		"cache/deep/more.bin":   "yyyyyyyyyy", // excluded by cache/**
		"ledger/cache/kept.bin": "zz",         // 2: cache/** is anchored
	}.Write(t, from)
	if err := os.MkdirAll(filepath.Join(from, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "srv", "finance", "data") // parents missing
	in := PreflightInput{
		MoveID: "umzug/test/finance",
		Source: src.host, Target: dst.host,
		Copies:         []CopySet{{Name: "ledger", From: from, To: to, Exclude: []string{"*.tmp", "cache/**"}}},
		SourceCommands: []string{"sh -c true", "true"},
		TargetCommands: []string{"echo started", "LANG=C sh"},
	}
	res, err := (&Activities{}).Preflight(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.SourceFiles != 4 || res.SourceBytes != 20 {
		t.Fatalf("counted %d files, %d bytes; want 4 files, 20 bytes", res.SourceFiles, res.SourceBytes)
	}
	if res.SourceFingerprint != ssh.FingerprintSHA256(src.srv.HostKey()) || res.TargetFingerprint != ssh.FingerprintSHA256(dst.srv.HostKey()) {
		t.Fatalf("fingerprints %s %s", res.SourceFingerprint, res.TargetFingerprint)
	}
	if res.TargetFreeBytes <= 0 {
		t.Fatalf("free bytes %d", res.TargetFreeBytes)
	}
	_, lookErr := exec.LookPath("sha256sum")
	if res.TargetHasSHA256 != (lookErr == nil) {
		t.Fatalf("TargetHasSHA256 = %v, but LookPath says %v", res.TargetHasSHA256, lookErr)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "does not exist yet; it will be created under "+filepath.Dir(filepath.Dir(filepath.Dir(to)))) {
		t.Fatalf("warnings %q", res.Warnings)
	}
	// Preflight writes nothing.
	if _, err := os.Stat(filepath.Dir(to)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("preflight created %s", filepath.Dir(to))
	}
}

func TestPreflightFollowsSymlinkedSourceWithWarning(t *testing.T) {
	src := startTestSSH(t, "fin_pb", sshserver.Options{})
	dst := startTestSSH(t, "fin_lg", sshserver.Options{})
	real := filepath.Join(t.TempDir(), "real")
	testkit.Tree{"a": "1234", "b/c": "56"}.Write(t, real)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	res, err := (&Activities{}).Preflight(context.Background(), PreflightInput{
		Source: src.host, Target: dst.host,
		Copies: []CopySet{{Name: "s", From: link, To: t.TempDir()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SourceFiles != 2 || res.SourceBytes != 6 {
		t.Fatalf("got %d files %d bytes", res.SourceFiles, res.SourceBytes)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "is a symlink to "+real) {
		t.Fatalf("warnings %q", res.Warnings)
	}
}

func TestPreflightListsAllProblems(t *testing.T) {
	src := startTestSSH(t, "fin_pb", sshserver.Options{})
	dst := startTestSSH(t, "fin_lg", sshserver.Options{})
	base := t.TempDir()
	notDir := filepath.Join(base, "file")
	testkit.Tree{"file": "x", "ok/a": "1"}.Write(t, base)
	in := PreflightInput{
		Source: src.host, Target: dst.host,
		Copies: []CopySet{
			{Name: "missing", From: filepath.Join(base, "nope"), To: filepath.Join(base, "t1")},
			{Name: "notdir", From: notDir, To: filepath.Join(base, "t2")},
			{Name: "badtarget", From: filepath.Join(base, "ok"), To: filepath.Join(notDir, "sub")},
			{Name: "relative", From: filepath.Join(base, "ok"), To: "srv/data"},
		},
		SourceCommands: []string{"umzug-no-such-tool --stop", "true"},
		TargetCommands: []string{"systemctl-not-here start finance"},
	}
	_, err := (&Activities{}).Preflight(context.Background(), in)
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrPreflightFailed || !ae.NonRetryable() {
		t.Fatalf("want non-retryable %s, got %v", contract.ErrPreflightFailed, err)
	}
	wantAll(t, err.Error(),
		"preflight found 6 problems",
		"copy set missing: source fin_pb:"+filepath.Join(base, "nope")+" does not exist",
		"copy set notdir: source fin_pb:"+notDir+" is a regular file, not a directory",
		"copy set badtarget: target fin_lg:"+filepath.Join(notDir, "sub")+": "+notDir+" exists and is a regular file, not a directory",
		"copy set relative: target fin_lg:srv/data is not an absolute path",
		`source fin_pb: command "umzug-no-such-tool" not found`,
		`target fin_lg: command "systemctl-not-here" not found`)
	if strings.Contains(err.Error(), `"true"`) {
		t.Fatalf("existing command reported missing: %v", err)
	}
}

func TestPreflightHostKeyProblemsAreListed(t *testing.T) {
	src := startTestSSH(t, "fin_pb", sshserver.Options{})
	dst := startTestSSH(t, "fin_lg", sshserver.Options{})
	h := dst.host
	h.KnownHosts = src.host.KnownHosts // wrong file: fin_lg's key is unknown there
	_, err := (&Activities{}).Preflight(context.Background(), PreflightInput{Source: src.host, Target: h,
		Copies: []CopySet{{Name: "s", From: filepath.Join(t.TempDir(), "gone"), To: "/tmp/x"}}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrPreflightFailed {
		t.Fatalf("got %v", err)
	}
	wantAll(t, err.Error(), "host fin_lg", "is not in known_hosts file", "copy set s: source fin_pb:")
}

func TestPreflightSpaceMessage(t *testing.T) {
	got := spaceProblem("fin_lg", 1288490189, "/srv", 3650722202, []string{"ledger"})
	if want := "target fin_lg has 1.2 GiB free at /srv, needs 3.4 GiB for copy set ledger"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	got = spaceProblem("fin_lg", 0, "/", 2048, []string{"a", "b"})
	if want := "target fin_lg has 0 B free at /, needs 2.0 KiB for copy sets a, b"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := fmtIEC(n); got != want {
			t.Errorf("fmtIEC(%d) = %q, want %q", n, got, want)
		}
	}
	if got := preflightMessage([]string{"a", "b"}); got != "preflight found 2 problems:\n- a\n- b" {
		t.Errorf("got %q", got)
	}
}

func TestCommandWords(t *testing.T) {
	got := commandWords([]string{"systemctl stop finance", "LANG=C /usr/bin/curl -fsS x", "systemctl start finance", "  ", "financectl health"})
	want := []string{"systemctl", "/usr/bin/curl", "financectl"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q want %q", got, want)
	}
}
