package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetupTwiceAndRefuseForeignDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	for i := 0; i < 2; i++ { // the second run wipes the first
		e, err := Setup(Options{Dir: dir, PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if e.Data.Files < 2000 || e.Data.Symlinks != 1 {
			t.Fatalf("sample data: %+v", e.Data)
		}
		kh, err := os.ReadFile(filepath.Join(dir, "keys/known_hosts"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*Site{e.Paderborn, e.Lemgo} {
			if !strings.Contains(string(kh), s.Server.KnownHostsLine()) {
				t.Fatalf("known_hosts lacks %s", s.Name)
			}
		}
		if _, err := os.Stat(e.TargetData()); !os.IsNotExist(err) {
			t.Fatalf("target data must not exist before the move: %v", err)
		}
		e.Close()
	}
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Setup(Options{Dir: foreign}); err == nil || !strings.Contains(err.Error(), "not made by umzug demo") {
		t.Fatalf("foreign dir: got %v", err)
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious")); err != nil {
		t.Fatal("foreign file removed")
	}
}

// A second demo on the same directory must fail before it touches the
// running demo's files (it used to wipe them, then fail on the port).
func TestSecondDemoLeavesTheRunningOneAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	first, err := Setup(Options{Dir: dir, PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	kh := filepath.Join(dir, "keys/known_hosts")
	before, err := os.ReadFile(kh)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{
		{Dir: dir, PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 1},
		{Dir: dir, PaderbornAddr: first.Paderborn.Server.Addr(), LemgoAddr: first.Lemgo.Server.Addr(), Seed: 1},
	} {
		if _, err := Setup(o); err == nil || !strings.Contains(err.Error(), "another umzug demo") {
			t.Fatalf("second demo on %s: got %v, want a refusal naming the running demo", dir, err)
		}
	}
	after, err := os.ReadFile(kh)
	if err != nil || string(after) != string(before) {
		t.Fatalf("known_hosts of the running demo changed or vanished: %v", err)
	}
	if _, err := os.Stat(filepath.Join(first.SourceData(), "ledger")); err != nil {
		t.Fatalf("source data of the running demo: %v", err)
	}
	// Another directory but the running demo's SSH port: refused up front.
	other := filepath.Join(t.TempDir(), "demo2")
	if _, err := Setup(Options{Dir: other, PaderbornAddr: first.Paderborn.Server.Addr(), LemgoAddr: "127.0.0.1:0", Seed: 1}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("busy port: got %v", err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatalf("a refused demo created %s", other)
	}
	first.Close()
	again, err := Setup(Options{Dir: dir, PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 1})
	if err != nil {
		t.Fatalf("after the first demo closed: %v", err)
	}
	again.Close()
}
