//go:build uilane

package uilane

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
	args := []string{"--kind", kind, "--name", name, "--data", string(payload)}
	if refusal {
		args = append(args, "--expect-refusal")
	}
	return b.node(t, label, id, fmt.Sprintf("%s %s %s", kind, name, payload), args...)
}

// view screenshots the workflow's page once the UI shows status (e.g.
// Completed).
func (b browser) view(t *testing.T, label, id, status string) {
	t.Helper()
	b.node(t, label, id, "view "+status, "--kind", "view", "--status", status)
}

// node runs decide.mjs for one step, bounded to 3m.
func (b browser) node(t *testing.T, label, id, what string, more ...string) uiAnswer {
	t.Helper()
	args := append([]string{"decide.mjs", "--ui", b.ui, "--workflow", id, "--shots", b.artifacts,
		"--label", label, "--chromium", b.chromium}, more...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = b.uiTests
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	began := time.Now()
	err := cmd.Run()
	t.Logf("Web UI %s: %s (%.1fs): %s%s", label, what, time.Since(began).Seconds(), out.String(), errOut.String())
	if err != nil {
		t.Fatalf("Web UI %s: %s failed: %v\n%s\nscreenshots in %s", label, what, err,
			strings.TrimSpace(errOut.String()), b.artifacts)
	}
	var a uiAnswer
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &a); err != nil {
		t.Fatalf("decide.mjs printed no answer: %v\n%s", err, out.String())
	}
	return a
}
