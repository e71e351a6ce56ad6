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
