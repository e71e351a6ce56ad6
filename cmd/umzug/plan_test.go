package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/demo"
)

func TestPlanOfflineShowsEverythingInOrder(t *testing.T) {
	code, out, errOut := cli(t, "plan", "--offline", "../../examples/finance.hcl")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	inOrder := []string{
		"plan finance (sha256 ",
		"application finance (Finanzwesen)  [umzug/finance/finance]",
		"source  host.fin_pb  migrate@127.0.0.1:2222  in paderborn (GKD Paderborn)",
		"target  host.fin_lg  migrate@127.0.0.1:2223  in lemgo",
		"copy ledger: fin_pb:/tmp/umzug-demo/paderborn/srv/finance/data -> fin_lg:/tmp/umzug-demo/lemgo/srv/finance/data",
		"exclude **/*.tmp, cache/**",
		"verify sha256; final_sync deletes files gone from the source",
		"copy pgdata: db_pb:/tmp/umzug-demo/paderborn/var/lib/postgresql/data -> db_lg:/tmp/umzug-demo/lemgo/var/lib/postgresql/data",
		"copy share: files_pb:/tmp/umzug-demo/paderborn/export/finanz -> files_lg:/tmp/umzug-demo/lemgo/export/finanz",
		"approval: 2 of a.meier, b.schulz, c.yilmaz; four-eyes (the starter cannot approve); expires after 72h",
		"window: from 2030-06-07T18:00:00+02:00 for 4h",
		"1. at once (counts its longest member):",
		"a) step stop_app on source (fin_pb): /tmp/umzug-demo/paderborn/bin/financectl stop",
		"undo: /tmp/umzug-demo/paderborn/bin/financectl start",
		"timeout 2m",
		"b) step stop_db on host.db_pb (db_pb): /tmp/umzug-demo/paderborn/bin/postgresctl stop",
		"2. final_sync",
		"3. step start_db on host.db_lg (db_lg)",
		"4. step start_app on target (fin_lg): /tmp/umzug-demo/lemgo/bin/financectl start",
		"5. step switch_dns on host.dns_lg (dns_lg): /tmp/umzug-demo/lemgo/bin/dnsctl point finance lemgo",
		"6. check health on target (fin_lg): /tmp/umzug-demo/lemgo/bin/financectl health (5 retries every 2s)",
		"soak 10m",
	}
	pos := 0
	for _, want := range inOrder {
		i := strings.Index(out[pos:], want)
		if i < 0 {
			t.Fatalf("after byte %d, output lacks %q:\n%s", pos, want, out)
		}
		pos += i + len(want)
	}
	if strings.Contains(out, "to seed") {
		t.Error("--offline measured something")
	}
}

const secretPlan = `
variable "token" {
  type      = string
  sensitive = true
}
datacenter "a" {}
host "h1" {
  datacenter  = datacenter.a
  address     = "127.0.0.1:1"
  user        = "u"
  agent       = true
  known_hosts = "/nonexistent/known_hosts"
}
host "h2" {
  datacenter  = datacenter.a
  address     = "127.0.0.1:2"
  user        = "u"
  agent       = true
  known_hosts = "/nonexistent/known_hosts"
}
application "app" {
  source = host.h1
  target = host.h2
  copy "c" {
    from = "/srv/app"
    to   = "/srv/app"
  }
  cutover {
    approval {
      approvers = ["x"]
    }
    step "notify" {
      on   = "target"
      run  = "notify --token=${var.token}"
      undo = "true"
    }
    final_sync {}
  }
}
`

// TestPlanNeverPrintsSensitiveValues: the commands show the reference the
// worker fills in, never the value, even a value that is a shell payload.
func TestPlanNeverPrintsSensitiveValues(t *testing.T) {
	const secret = "hunter2'; touch /tmp/pwned; echo '"
	f := filepath.Join(t.TempDir(), "secret.hcl")
	os.WriteFile(f, []byte(secretPlan), 0o644)
	for _, args := range [][]string{
		{"plan", "--offline", f, "--var", "token=" + secret},
		{"plan", "--offline", "--json", f, "--var", "token=" + secret},
		{"plan", f, "--var", "token=" + secret}, // online: errors name paths
		{"plan", "--offline", f},                // the value may be left to the workers
	} {
		code, out, errOut := cli(t, args...)
		// Online, the unreachable host leaves the plan unmeasured: exit 1.
		if want := map[bool]int{true: 1, false: 0}[args[1] == f]; code != want {
			t.Fatalf("%v: exit %d, want %d\n%s", args, code, want, errOut)
		}
		if strings.Contains(out+errOut, "hunter2") || strings.Contains(out+errOut, "pwned") {
			t.Fatalf("%v printed the secret:\n%s%s", args, out, errOut)
		}
		if !strings.Contains(out, "notify --token=${UMZUG_SECRET_token}") {
			t.Errorf("%v: the command does not show the reference:\n%s", args, out)
		}
		if args[2] != "--json" && !strings.Contains(out, "token = (sensitive: the workers read UMZUG_SECRET_token)") {
			t.Errorf("%v: the variable line does not say where the value comes from:\n%s", args, out)
		}
		// The plan says the step's output is withheld (no output = "keep").
		if want := "secrets from the worker: token; output withheld (byte counts only)"; args[2] == "--json" {
			if !strings.Contains(out, `"output": "withhold"`) {
				t.Errorf("%v: no output setting:\n%s", args, out)
			}
		} else if !strings.Contains(out, want) {
			t.Errorf("%v: no line %q:\n%s", args, want, out)
		}
		// Online, the unreachable source is said once, not a crash.
		if args[1] == f && (!strings.Contains(out, "note: could not connect to the hosts of app; the first error: copy c: scan h1:/srv/app and h2:/srv/app: ") ||
			!strings.Contains(out, "  not measured: could not connect to its hosts (see the note at the top)")) {
			t.Errorf("the unreachable host is not reported once with a pointer from the application:\n%s", out)
		}
	}
}

// TestSensitiveOutsideCommandsRefused: a sensitive variable in a copy path
// would reach history, so validate refuses it and says where.
func TestSensitiveOutsideCommandsRefused(t *testing.T) {
	f := filepath.Join(t.TempDir(), "secret.hcl")
	src := strings.Replace(secretPlan, `from = "/srv/app"`, `from = "/srv/${var.token}"`, 1)
	os.WriteFile(f, []byte(src), 0o644)
	code, _, errOut := cli(t, "validate", f, "--var", "token=hunter2-secret")
	if code != 1 || !strings.Contains(errOut, f+":25:12:") ||
		!strings.Contains(errOut, "sensitive variable token can only be used in step, undo and check commands") {
		t.Fatalf("exit %d, want 1 and the position:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "hunter2") {
		t.Fatalf("the message shows the value:\n%s", errOut)
	}
}

// TestLiteralSecretRefusedByValidate: a password written into a command
// would be kept in history; validate refuses it and says what to do.
func TestLiteralSecretRefusedByValidate(t *testing.T) {
	f := filepath.Join(t.TempDir(), "literal.hcl")
	src := strings.Replace(secretPlan, `run  = "notify --token=${var.token}"`, `run  = "PGPASSWORD=hunter2 psql -c 'select 1'"`, 1)
	os.WriteFile(f, []byte(src), 0o644)
	code, _, errOut := cli(t, "validate", f)
	if code != 1 || !strings.Contains(errOut, f+":34:14:") || !strings.Contains(errOut, "Literal secret in command") ||
		!strings.Contains(errOut, "PGPASSWORD=… has a value written in the plan") || !strings.Contains(errOut, "sensitive = true") {
		t.Fatalf("exit %d, want 1 with the position and the fix:\n%s", code, errOut)
	}
}

// fakeEstimator answers like the activities would, per source host.
type fakeEstimator struct {
	delta map[string]contract.DeltaEstimate
	rate  float64
	seen  []contract.CopyInput
}

func (f *fakeEstimator) EstimateDelta(ctx context.Context, in contract.CopyInput) (contract.DeltaEstimate, error) {
	f.seen = append(f.seen, in)
	d, ok := f.delta[in.Source.Name]
	if !ok {
		return d, errors.New("dial tcp " + in.Source.Address + ": connection refused")
	}
	d.Set = in.Set.Name
	return d, nil
}

func (f *fakeEstimator) SampleThroughput(ctx context.Context, src contract.Host, dir string, maxBytes int64) (float64, error) {
	return f.rate, nil
}

func TestPlanOnlineEstimatesAndUnreachableHosts(t *testing.T) {
	fake := &fakeEstimator{
		rate: 100 << 20,
		delta: map[string]contract.DeltaEstimate{
			"dir_pb": {SourceFiles: 1200, SourceBytes: 10 << 30, ChangedFiles: 1200, ChangedBytes: 10 << 30, DeletedFiles: 3},
		},
	}
	old := newEstimator
	newEstimator = func() estimator { return fake }
	t.Cleanup(func() { newEstimator = old })

	code, out, errOut := cli(t, "plan", "../../examples/wave.hcl")
	if code != 1 || !strings.Contains(errOut, "umzug: 2 of 3 applications not measured on the hosts (see the report); `umzug plan --offline ../../examples/wave.hcl` shows") {
		t.Fatalf("exit %d, want 1 naming --offline\n%s", code, errOut)
	}
	if n := strings.Count(out, "dial tcp"); n != 1 {
		t.Errorf("the connection error is printed %d times; want once", n)
	}
	for _, want := range []string{
		"source holds 1200 files, 10 GiB; to seed now: 1200 files, 10 GiB; 3 target files not on the source",
		"estimated seed 2m36s at 100 MiB/s; final_sync about 40s per GiB changed after the seed",
		"note: could not connect to the hosts of finance, reports; the first error: copy ledger: scan fin_pb:/srv/finance/data and fin_lg:/srv/finance/data: dial tcp 10.20.1.15:22: connection refused. `umzug plan --offline` shows",
		"  not measured: could not connect to its hosts (see the note at the top)",
		"wave q4: directory, finance, reports (at most 2 at once",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
	// Every copy set was asked about, with its own hosts and delete flag.
	if len(fake.seen) != 4 {
		t.Fatalf("%d estimates, want 4", len(fake.seen))
	}
	in := fake.seen[0]
	if in.Source.Jump == nil || in.Source.Jump.Name != "bastion_pb" || in.Target.Queue != "lemgo" || !in.Delete || in.MoveID != "umzug/wave/directory" {
		t.Errorf("first estimate input %+v", in)
	}

	code, out, _ = cli(t, "plan", "--json", "../../examples/wave.hcl")
	var rep planReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("--json: exit %d, %v\n%s", code, err, out)
	}
	c := rep.Applications[0].Copies[0]
	if !rep.Online || c.Estimate == nil || c.Estimate.ChangedBytes != 10<<30 || c.SeedSeconds < 156 || c.SeedSeconds > 157 {
		t.Errorf("json copy %+v", c)
	}
	if rep.Applications[1].Error == "" || rep.Applications[1].Copies[0].Error == "" || !rep.Applications[1].Unreachable {
		t.Error("json lacks the unreachable host's error")
	}
}

// TestPlanOnlineAgainstDemoHosts measures the demo data centers for real
// over SSH: the counts must match the generated data, and nothing may be
// written on the target.
func TestPlanOnlineAgainstDemoHosts(t *testing.T) {
	env, err := demo.Setup(demo.Options{Dir: filepath.Join(t.TempDir(), "demo"), PaderbornAddr: "127.0.0.1:0", LemgoAddr: "127.0.0.1:0", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	args := []string{"plan", "--json", env.PlanFile}
	for k, v := range env.Vars {
		args = append(args, "--var", k+"="+v)
	}
	args = append(args, "--var", "window_start="+time.Now().UTC().Format(time.RFC3339))
	before, _ := os.ReadDir(env.Lemgo.Root)
	code, out, errOut := cli(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var rep planReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	app := rep.Applications[0]
	if app.Error != "" {
		t.Fatalf("demo hosts not measured: %s", app.Error)
	}
	e := app.Copies[0].Estimate
	if e == nil || e.SourceFiles == 0 || e.ChangedFiles != e.SourceFiles || e.ChangedBytes != e.SourceBytes {
		t.Fatalf("estimate %+v: an empty target needs everything seeded", e)
	}
	if e.SourceFiles >= int64(env.Data.Files) && len(env.Excluded) > 0 {
		t.Errorf("excludes not applied: %d files of %d generated", e.SourceFiles, env.Data.Files)
	}
	if app.Copies[0].BytesPerSec <= 0 {
		t.Errorf("no throughput measured: %+v", app.Copies[0])
	}
	after, _ := os.ReadDir(env.Lemgo.Root)
	if len(after) != len(before) {
		t.Errorf("plan wrote on the target: %d entries before, %d after", len(before), len(after))
	}
}

// `umzug plan` shows the run digest, which follows the variable values
// where the plan SHA-256 does not.
func TestPlanShowsRunDigest(t *testing.T) {
	digest := func(args ...string) (sha, run string) {
		t.Helper()
		code, out, errOut := cli(t, append([]string{"plan", "--offline", "../../examples/finance.hcl"}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errOut)
		}
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(l, "plan finance (sha256 "); ok {
				sha = strings.TrimSuffix(v, ")")
			}
			if v, ok := strings.CutPrefix(l, "run digest "); ok {
				run, _, _ = strings.Cut(v, " ")
			}
		}
		if len(sha) != 64 || len(run) != 64 {
			t.Fatalf("no sha256/run digest in:\n%s", out)
		}
		return sha, run
	}
	sha1, run1 := digest()
	sha2, run2 := digest("--var", "window_start=2026-12-01T09:00:00Z")
	if sha1 != sha2 || run1 == run2 {
		t.Fatalf("sha256 %s/%s, run digest %s/%s: want same sha, different run digest", sha1, sha2, run1, run2)
	}
}
