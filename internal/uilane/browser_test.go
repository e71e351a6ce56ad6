//go:build uilane

package uilane

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browser drives the Web UI with ui-tests/decide.mjs in headless chromium.
type browser struct {
	uiTests   string // the ui-tests directory (node_modules installed)
	artifacts string // screenshots go here
	ui        string // Web UI base URL
	chromium  string
}

// uiAnswer is what decide.mjs saw after Submit: the dialog closed (the UI
// took it) or it showed the server's error.
type uiAnswer struct {
	Closed bool   `json:"closed"`
	Error  string `json:"error"`
	Toast  string `json:"toast"`
}

// checkTools fails early, saying what to install, when the lane cannot run.
func checkTools(t *testing.T, uiTests string) string {
	t.Helper()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium not found at %s (apt-get install chromium, or set CHROMIUM): %v", chromium, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node not found (apt-get install nodejs npm): %v", err)
	}
	if _, err := os.Stat(filepath.Join(uiTests, "node_modules", "puppeteer-core")); err != nil {
		t.Fatalf("puppeteer-core missing: run `npm ci` in %s: %v", uiTests, err)
	}
	return chromium
}

// decide sends one decision through the UI's dialog (kind "signal" or
// "update"); label names its screenshots. refusal says the UI must show
// the server's refusal instead of closing the dialog.
func (b browser) decide(t *testing.T, label, id, kind, name string, data any, refusal bool) uiAnswer {
	t.Helper()
	payload, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"decide.mjs", "--ui", b.ui, "--workflow", id, "--kind", kind, "--name", name,
		"--data", string(payload), "--shots", b.artifacts, "--label", label, "--chromium", b.chromium}
	if refusal {
		args = append(args, "--expect-refusal")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = b.uiTests
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	err = cmd.Run()
	t.Logf("UI %s %s %s as %s (%.1fs): %s%s", label, kind, name, payload, time.Since(began).Seconds(), out.String(), errOut.String())
	if err != nil {
		t.Fatalf("Web UI %s: %s %s %s failed: %v\n%s\nscreenshots in %s", label, kind, name, payload, err,
			strings.TrimSpace(errOut.String()), b.artifacts)
	}
	var a uiAnswer
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &a); err != nil {
		t.Fatalf("decide.mjs printed no answer: %v\n%s", err, out.String())
	}
	return a
}
