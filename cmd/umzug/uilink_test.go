package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/umzug-dev/umzug/internal/demo"
	"github.com/umzug-dev/umzug/internal/testkit"
)

// TestUIExportHint: a UI on another port than the default makes dev and
// demo say how other shells' links reach it; links follow TEMPORAL_UI_URL.
func TestUIExportHint(t *testing.T) {
	t.Setenv("TEMPORAL_UI_URL", "")
	if h := uiExportHint("http://127.0.0.1:8233"); h != "" {
		t.Errorf("default port: hint %q", h)
	}
	h := uiExportHint("http://127.0.0.1:9233")
	if !strings.Contains(h, "export TEMPORAL_UI_URL=http://127.0.0.1:9233") {
		t.Errorf("UI on 9233: hint %q", h)
	}
	t.Setenv("TEMPORAL_UI_URL", "http://127.0.0.1:9233")
	if uiBase() != "http://127.0.0.1:9233" || uiExportHint("http://127.0.0.1:9233") != "" {
		t.Errorf("with TEMPORAL_UI_URL set: base %s, hint %q", uiBase(), uiExportHint("http://127.0.0.1:9233"))
	}
}

// TestRunLinksToTheUIThatDevStarted: without TEMPORAL_UI_URL, `umzug run`
// asks the server where the embedded UI runs, so a UI on another port
// than 8233 gets working links from every shell.
func TestRunLinksToTheUIThatDevStarted(t *testing.T) {
	t.Setenv("TEMPORAL_UI_URL", "")
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(t.TempDir(), "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	uiPort := testkit.FreePort(t)
	st, err := startStack(context.Background(), embeddedOptions{port: 0, uiPort: uiPort}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	t.Setenv("TEMPORAL_ADDRESS", st.server.Address())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	e := &e2e{env: env, stack: st, c: st.client}
	code, out, _ := cli(t, append([]string{"run", "--as", "a.meier"}, e.planArgs()...)...)
	want := fmt.Sprintf("http://127.0.0.1:%d/namespaces/default/workflows/", uiPort)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("exit %d; links should start with %s:\n%s", code, want, out)
	}
}
