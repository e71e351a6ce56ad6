package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const messyPlan = `datacenter "a" {
description="Site A"
    worker_queue = "a"
}
host "h" {
  datacenter=datacenter.a
  address = "h"
  user="migrate"
  agent  =  true
  known_hosts = "/k"
}
`

const tidyPlan = `datacenter "a" {
  description  = "Site A"
  worker_queue = "a"
}
host "h" {
  datacenter  = datacenter.a
  address     = "h"
  user        = "migrate"
  agent       = true
  known_hosts = "/k"
}
`

func TestFmtCheckDiffAndRewrite(t *testing.T) {
	dir := t.TempDir()
	messy := filepath.Join(dir, "messy.hcl")
	tidy := filepath.Join(dir, "tidy.hcl")
	js := filepath.Join(dir, "gen.hcl.json")
	os.WriteFile(messy, []byte(messyPlan), 0o640)
	os.WriteFile(tidy, []byte(tidyPlan), 0o644)
	os.WriteFile(js, []byte(`{"datacenter": {"a": {}}}`), 0o644)
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	code, out, errOut := cli(t, "fmt", "--check", dir)
	if code != 1 || strings.TrimSpace(out) != messy || !strings.Contains(errOut, "1 file(s) are not formatted") {
		t.Fatalf("--check: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if read(messy) != messyPlan {
		t.Fatal("--check changed the file")
	}

	code, out, _ = cli(t, "fmt", "--diff", messy)
	if code != 0 || !strings.Contains(out, "--- a/"+filepath.ToSlash(messy)) ||
		!strings.Contains(out, "-description=\"Site A\"\n") || !strings.Contains(out, "+  description  = \"Site A\"\n") {
		t.Fatalf("--diff: exit %d\n%s", code, out)
	}
	if read(messy) != messyPlan {
		t.Fatal("--diff changed the file")
	}

	code, out, errOut = cli(t, "fmt", dir)
	if code != 0 || strings.TrimSpace(out) != messy {
		t.Fatalf("fmt: exit %d\n%s%s", code, out, errOut)
	}
	if got := read(messy); got != tidyPlan {
		t.Fatalf("formatted:\n%s\nwant:\n%s", got, tidyPlan)
	}
	if st, _ := os.Stat(messy); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v not kept", st.Mode().Perm())
	}
	if read(js) != `{"datacenter": {"a": {}}}` {
		t.Error("JSON plan was touched")
	}
	// Idempotent: nothing left to do.
	if code, out, _ = cli(t, "fmt", "--check", dir); code != 0 || out != "" {
		t.Fatalf("second --check: exit %d %q", code, out)
	}
	if code, out, _ = cli(t, "fmt", dir); code != 0 || out != "" || read(messy) != tidyPlan {
		t.Fatalf("second fmt: exit %d %q", code, out)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*fmt-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestFmtRefusesBrokenAndJSON(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.hcl")
	src := "host \"a\" {\n  address = \n"
	os.WriteFile(broken, []byte(src), 0o644)
	code, _, errOut := cli(t, "fmt", broken)
	if code != 1 || !strings.Contains(errOut, "broken.hcl:") || !strings.Contains(errOut, "not formatted") {
		t.Fatalf("broken: exit %d\n%s", code, errOut)
	}
	if b, _ := os.ReadFile(broken); string(b) != src {
		t.Fatal("broken file was changed")
	}
	js := filepath.Join(dir, "x.hcl.json")
	os.WriteFile(js, []byte("{}"), 0o644)
	if code, _, errOut = cli(t, "fmt", js); code != 1 || !strings.Contains(errOut, "only *.hcl files") {
		t.Fatalf("json: exit %d\n%s", code, errOut)
	}
}

func TestFmtExamplesAreCanonical(t *testing.T) {
	code, out, errOut := cli(t, "fmt", "--check", "../../examples")
	if code != 0 {
		t.Fatalf("examples need formatting: %s%s", out, errOut)
	}
}
