package demo

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServiceControls runs the installed script under each name through
// a site's life: no start without the application's data, start, health,
// the application's own fault, stop. Each name keeps its own state file.
func TestServiceControls(t *testing.T) {
	for _, tc := range []struct {
		name, state string
		needs       func(t *testing.T, root string)
		breaks      func(t *testing.T, root string)
		service     string
	}{
		{name: "financectl", state: "run/finance.state", service: "finance",
			needs:  func(t *testing.T, root string) { writeEmpty(t, root, "srv/finance/data/config/finance.conf") },
			breaks: func(t *testing.T, root string) { writeEmpty(t, root, "run/finance.broken") }},
		{name: "printctl", state: "run/print.state", service: "print production",
			needs: func(t *testing.T, root string) {
				writeEmpty(t, root, "srv/print/forms/letterhead.ps")
				writeEmpty(t, root, "srv/print/spool/.keep")
			},
			breaks: func(t *testing.T, root string) {
				if err := os.RemoveAll(filepath.Join(root, "srv/print/spool")); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "owl")
			if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := installControls(root); err != nil {
				t.Fatal(err)
			}
			ctl := func(arg string) (int, string) {
				out, err := exec.Command(filepath.Join(root, "bin", tc.name), arg).CombinedOutput()
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					return exit.ExitCode(), string(out)
				}
				if err != nil {
					t.Fatal(err)
				}
				return 0, string(out)
			}
			if code, out := ctl("start"); code != 1 || !strings.Contains(out, "refusing to start") {
				t.Fatalf("start without data: exit %d %q, want exit 1 and a refusal", code, out)
			}
			tc.needs(t, root)
			if code, out := ctl("start"); code != 0 || out != tc.service+" started in owl\n" {
				t.Fatalf("start: exit %d %q", code, out)
			}
			if code, out := ctl("health"); code != 0 || out != tc.service+" healthy in owl\n" {
				t.Fatalf("health after start: exit %d %q", code, out)
			}
			tc.breaks(t, root)
			if code, _ := ctl("health"); code != 1 {
				t.Fatalf("health of a broken %s: exit %d, want 1", tc.service, code)
			}
			if code, out := ctl("stop"); code != 0 || !strings.Contains(out, "stopped in owl") {
				t.Fatalf("stop: exit %d %q", code, out)
			}
			b, err := os.ReadFile(filepath.Join(root, tc.state))
			if err != nil || string(b) != "stopped\n" {
				t.Fatalf("%s after stop: %q %v", tc.state, b, err)
			}
			if code, out := ctl("status"); code != 0 || out != "stopped\n" {
				t.Fatalf("status: exit %d %q", code, out)
			}
			if code, _ := ctl("restart"); code != 2 {
				t.Fatalf("unknown verb: exit %d, want 2", code)
			}
		})
	}
}

func writeEmpty(t *testing.T, root, rel string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
