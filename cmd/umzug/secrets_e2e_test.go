package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/demo"
)

// TestUmzugHelperProcess is `umzug` itself when the secrets test starts
// this test binary as a separate process (so the worker's environment,
// files and logs are its own); otherwise it does nothing.
func TestUmzugHelperProcess(t *testing.T) {
	if os.Getenv("UMZUG_TEST_HELPER") != "1" {
		t.Skip("runs only as a subprocess")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(runIO(args, os.Stdout, os.Stderr))
}

// secretCore is the part of the secret every leak check looks for: letters
// and digits only, so JSON or shell quoting cannot disguise it.
const secretCore = "S3cr3tCore7f4c9a1e"

// The secret also holds what would break out of a command line.
const secretValue = secretCore + `'"; touch pwned; echo $(id) #`

const secretE2EPlan = `
variable "demo_dir" {
  type = string
}
variable "paderborn_address" {
  type = string
}
variable "lemgo_address" {
  type = string
}
variable "pg_password" {
  type      = string
  sensitive = true
}
datacenter "paderborn" {}
datacenter "lemgo" {}
host "db_pb" {
  datacenter    = datacenter.paderborn
  address       = var.paderborn_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}
host "db_lg" {
  datacenter    = datacenter.lemgo
  address       = var.lemgo_address
  user          = "migrate"
  identity_file = "${var.demo_dir}/keys/umzug_ed25519"
  known_hosts   = "${var.demo_dir}/keys/known_hosts"
}
application "db" {
  source = host.db_pb
  target = host.db_lg
  copy "conf" {
    from = "${var.demo_dir}/paderborn/srv/db"
    to   = "${var.demo_dir}/lemgo/srv/db"
  }
  cutover {
    final_sync {}
    step "load" {
      on   = "target"
      run  = "PGPASSWORD=\"${var.pg_password}\" sh -c 'printf %s \"$PGPASSWORD\" > ${var.demo_dir}/lemgo/got; echo \"loaded $PGPASSWORD\"'"
      undo = "rm -f ${var.demo_dir}/lemgo/got"
    }
    check "login" {
      on     = "target"
      run    = "bash -xc 'test \"$(cat ${var.demo_dir}/lemgo/got)\" = \"$0\" && echo login ok' \"${var.pg_password}\" && printf %s \"${var.pg_password}\" | od -An -tx1 -v | tr -d ' \\n' && printf %s \"${var.pg_password}\" | base64"
      output = "keep"
    }
  }
}
`

// TestSecretsNeverLeaveTheWorker runs a move whose step needs a sensitive
// value through `umzug dev --db FILE --secrets-file F` in its own process
// and the CLI, then looks for the value everywhere Temporal and umzug keep
// or show anything: the database, the history export and audit report,
// status (text and JSON), the dev process's output and the CLI's. The
// step must still have received the value, byte for byte.
func TestSecretsNeverLeaveTheWorker(t *testing.T) {
	for _, kv := range os.Environ() {
		if strings.Contains(kv, secretCore) {
			t.Fatal("the test process must not hold the secret in its environment: the in-process SSH server passes its environment on")
		}
	}
	tmp := t.TempDir()
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(tmp, "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if err := os.MkdirAll(filepath.Join(env.Dir, "paderborn/srv/db"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(env.Dir, "paderborn/srv/db/pg_hba.conf"), []byte("local all all md5\n"), 0o644)
	planFile := filepath.Join(tmp, "db.hcl")
	os.WriteFile(planFile, []byte(secretE2EPlan), 0o644)
	secrets := filepath.Join(tmp, "worker.secrets")
	os.WriteFile(secrets, []byte("UMZUG_SECRET_pg_password="+secretValue+"\n"), 0o600)

	db := filepath.Join(tmp, "dev.db")
	devOut := startDevProcess(t, db, secrets)

	args := []string{"run", "--as", "a.meier", "--wait", planFile, "--var", "pg_password=" + secretValue}
	for k, v := range env.Vars {
		// The plan declares only these (the demo has more hosts).
		if k == "demo_dir" || k == "paderborn_address" || k == "lemgo_address" {
			args = append(args, "--var", k+"="+v)
		}
	}
	var cliOut strings.Builder
	record := func(code int, out, errOut string) (int, string) {
		cliOut.WriteString(out + errOut)
		return code, out
	}
	code, out, errOut := cli(t, append([]string{"validate"}, args[4:]...)...)
	cliOut.WriteString(out + errOut)
	if code != 0 || !strings.Contains(errOut, "db.hcl:48:16:") || !strings.Contains(errOut, "Output of a command with secrets kept") {
		t.Fatalf("validate: exit %d, want the output = \"keep\" warning at db.hcl:48:16\n%s%s", code, out, errOut)
	}
	code, out = record(cli(t, args...))
	if code != 0 || !strings.Contains(out, "sensitive variable pg_password: the workers read UMZUG_SECRET_pg_password") {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	got, err := os.ReadFile(filepath.Join(env.Dir, "lemgo/got"))
	if err != nil || string(got) != secretValue {
		t.Errorf("the step did not receive the value: %q, %v", got, err)
	}

	const id = "umzug/db/db"
	_, text := record(cli(t, "status", id))
	_, js := record(cli(t, "status", id, "-o", "json"))
	if !strings.Contains(text, "committed") || !strings.Contains(js, "${UMZUG_SECRET_pg_password}") {
		t.Fatalf("status does not show the committed move with its reference:\n%s\n%s", text, js)
	}
	auditDir := filepath.Join(tmp, "audit")
	if code, _ := record(cli(t, "audit", id, "--out", auditDir)); code != 0 {
		t.Fatalf("audit: exit %d", code)
	}
	stopDevProcess(t, devOut)

	places := map[string][]byte{"CLI output": []byte(cliOut.String())}
	for _, dir := range []string{auditDir, filepath.Dir(db)} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && f != secrets {
				places[f] = b
			}
		}
	}
	for _, want := range []string{"history.json", "report.md", "report.json", "dev.db", "dev.log"} {
		found := false
		for p, b := range places {
			found = found || (filepath.Base(p) == want && len(b) > 0)
		}
		if !found {
			t.Errorf("%s is missing or empty; the search would prove nothing", want)
		}
	}
	for p, b := range places {
		if n := leaks(b, secretCore); n > 0 {
			t.Errorf("%s: %d occurrence(s) of the secret", p, n)
		}
	}
}

// leaks counts the secret in b as it is, in hex, and base64-encoded at
// each of the three alignments (history exports encode payloads in base64;
// the login check prints the value in hex and base64 too).
func leaks(b []byte, secret string) int {
	n := bytes.Count(b, []byte(secret))
	h := hex.EncodeToString([]byte(secret))
	n += bytes.Count(bytes.ToLower(b), []byte(h))
	// The hex inside a base64 payload.
	n += leaksBase64(b, h)
	return n + leaksBase64(b, secret)
}

func leaksBase64(b []byte, secret string) int {
	n := 0
	for pad := 0; pad < 3; pad++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", pad) + secret))
		// Drop the groups that depend on what precedes or follows.
		start := 0
		if pad > 0 {
			start = 4
		}
		n += bytes.Count(b, []byte(enc[start:len(enc)-4]))
	}
	return n
}

type devProcess struct {
	cmd *exec.Cmd
	log string
}

// startDevProcess runs `umzug dev --db db --secrets-file secrets` as its
// own process, output to dev.log next to the database, and waits until
// its worker runs.
func startDevProcess(t *testing.T, db, secrets string) *devProcess {
	t.Helper()
	logPath := filepath.Join(filepath.Dir(db), "dev.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUmzugHelperProcess$", "--",
		"dev", "--db", db, "--headless", "--port", "0", "--secrets-file", secrets)
	cmd.Env = append(os.Environ(), "UMZUG_TEST_HELPER=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logFile.Close()
	p := &devProcess{cmd: cmd, log: logPath}
	t.Cleanup(func() { p.cmd.Process.Kill() })
	var out []byte
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		out, _ = os.ReadFile(logPath)
		if bytes.Contains(out, []byte("Worker:")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("umzug dev did not start:\n%s", out)
		}
	}
	t.Setenv("TEMPORAL_ADDRESS", devAddress(t, string(out)))
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	return p
}

// stopDevProcess stops it as Ctrl-C does, so the database is complete.
func stopDevProcess(t *testing.T, p *devProcess) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	if err := p.cmd.Wait(); err != nil {
		b, _ := os.ReadFile(p.log)
		t.Fatalf("umzug dev: %v\n%s", err, b)
	}
}
