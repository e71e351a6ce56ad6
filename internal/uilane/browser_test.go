//go:build uilane

package uilane

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// stepLimit bounds one UI step (page load, dialog, answer).
const stepLimit = 3 * time.Minute

// browser is one `node decide.mjs --serve`: a headless chromium that takes
// one step (a signal, an update or a view of the workflow) per line.
type browser struct {
	artifacts string
	in        io.WriteCloser
	lines     chan string
	exited    chan error
	log       string // decide.mjs's stderr
}

// step is one line to decide.mjs.
type step struct {
	Label         string `json:"label"`
	Kind          string `json:"kind"` // signal, update, view
	Name          string `json:"name,omitempty"`
	Data          string `json:"data,omitempty"`
	ExpectRefusal bool   `json:"expect_refusal,omitempty"`
	Status        string `json:"status,omitempty"` // view: the status to wait for
}

// uiAnswer is decide.mjs's answer: the dialog closed (the UI took it) or
// showed the server's error; OK false when the step could not be done.
type uiAnswer struct {
	OK     bool   `json:"ok"`
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

// startBrowser starts decide.mjs for workflow id on the Web UI at ui; it
// ends with the test (end of input, then its process group is killed if
// it lingers).
func startBrowser(t *testing.T, uiTests, artifacts, chromium, ui, id string) *browser {
	t.Helper()
	b := &browser{artifacts: artifacts, lines: make(chan string, 1), exited: make(chan error, 1),
		log: filepath.Join(artifacts, "decide.log")}
	logf, err := os.Create(b.log)
	if err != nil {
		t.Fatal(err)
	}
	// A minute per stage: CI machines shared with other jobs are slow.
	cmd := exec.Command("node", "decide.mjs", "--serve", "--ui", ui, "--workflow", id,
		"--shots", artifacts, "--chromium", chromium, "--timeout", "60000")
	cmd.Dir = uiTests
	cmd.Env = append(os.Environ(), "DECIDE_DEBUG=1") // stage timings and retries into decide.log
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if b.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node decide.mjs: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		b.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		b.in.Close()
		select {
		case <-b.exited:
		case <-time.After(30 * time.Second):
			t.Logf("decide.mjs (pid %d) did not end within 30s of its input; killing its process group", cmd.Process.Pid)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		logf.Close()
	})
	return b
}

// do runs one step and fails the test unless it was done as asked.
func (b *browser) do(t *testing.T, s step) uiAnswer {
	t.Helper()
	line, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, err := fmt.Fprintf(b.in, "%s\n", line); err != nil {
		t.Fatalf("Web UI %s: decide.mjs takes no more steps: %v; its log: %s", s.Label, err, readFile(b.log))
	}
	var raw string
	select {
	case raw = <-b.lines:
	case err := <-b.exited:
		t.Fatalf("Web UI %s: decide.mjs ended (%v) without an answer; its log:\n%s", s.Label, err, readFile(b.log))
	case <-time.After(stepLimit):
		t.Fatalf("Web UI %s: no answer within %s; screenshots in %s", s.Label, stepLimit, b.artifacts)
	}
	t.Logf("Web UI %s (%.1fs): %s", s.Label, time.Since(began).Seconds(), raw)
	var a uiAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		t.Fatalf("Web UI %s: decide.mjs answered %q: %v", s.Label, raw, err)
	}
	if !a.OK {
		t.Fatalf("Web UI %s: %s\nscreenshots in %s", s.Label, a.Error, b.artifacts)
	}
	return a
}

// decide sends one decision through the UI's dialog (kind "signal" or
// "update"); label names its screenshots. refusal says the UI must show
// the server's refusal instead of closing the dialog.
func (b *browser) decide(t *testing.T, label, kind, name string, data any, refusal bool) uiAnswer {
	t.Helper()
	payload, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, step{Label: label, Kind: kind, Name: name, Data: string(payload), ExpectRefusal: refusal})
}

// view screenshots the workflow's page once the UI shows status (e.g.
// Completed).
func (b *browser) view(t *testing.T, label, status string) {
	t.Helper()
	b.do(t, step{Label: label, Kind: "view", Status: status})
}
