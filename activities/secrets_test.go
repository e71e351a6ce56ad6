package activities

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/umzug-dev/umzug/internal/sshserver"
	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

const testSecret = `S3cr3t-'$(touch /tmp/pwned)"x` // quotes and a payload

func TestResolveSecretsFromEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets")
	os.WriteFile(file, []byte("# worker secrets\n\nUMZUG_SECRET_api_token=tok-123=x\n"), 0o600)
	t.Setenv("UMZUG_SECRET_db_password", testSecret)
	a := &Activities{SecretsFile: file}
	got, err := a.resolveSecrets([]string{"db_password", "api_token"})
	if err != nil || got["db_password"] != testSecret || got["api_token"] != "tok-123=x" {
		t.Fatalf("%q %v", got, err)
	}

	_, err = a.resolveSecrets([]string{"nope"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrSecretMissing || !ae.NonRetryable() {
		t.Fatalf("missing: %v", err)
	}
	wantAll(t, err.Error(), "UMZUG_SECRET_nope", file)
	t.Setenv(SecretsFileEnv, "")
	_, err = (&Activities{}).resolveSecrets([]string{"nope"})
	wantAll(t, fmt.Sprint(err), "UMZUG_SECRET_nope", "no secrets file", SecretsFileEnv)
	t.Setenv(SecretsFileEnv, file)
	if got, err := (&Activities{}).resolveSecrets([]string{"api_token"}); err != nil || got["api_token"] != "tok-123=x" {
		t.Fatalf("file from %s: %q %v", SecretsFileEnv, got, err)
	}

	os.Chmod(file, 0o640)
	_, err = a.resolveSecrets([]string{"api_token"})
	wantAll(t, fmt.Sprint(err), "mode 0640", "chmod 600")
	if strings.Contains(fmt.Sprint(err), "tok-123") {
		t.Fatal("error shows the value")
	}

	os.Chmod(file, 0o600)
	os.WriteFile(file, []byte("tok-secret-line-without-key\n"), 0o600)
	_, err = a.resolveSecrets([]string{"api_token"})
	if err == nil || strings.Contains(err.Error(), "tok-secret") {
		t.Fatalf("malformed line: %v", err)
	}
}

// The value reaches the remote shell over stdin: the command sees it, no
// process's argv holds it, the records on the host do not hold it, and the
// output tails show (sensitive) instead.
func TestRunCommandSecretOverStdin(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	dir := t.TempDir()
	t.Setenv("UMZUG_SECRET_db_password", testSecret)
	a := &Activities{RemoteStateDir: filepath.Join(dir, "state")}
	assertSecretHandoff(t, a, ts.host, dir)
}

func assertSecretHandoff(t *testing.T, a *Activities, h Host, dir string) {
	t.Helper()
	ready, release := filepath.Join(dir, "ready"), filepath.Join(dir, "release")
	seen := filepath.Join(dir, "seen")
	cmd := fmt.Sprintf(`printf %%s "${UMZUG_SECRET_db_password}" > %s; echo "pw=${UMZUG_SECRET_db_password}"; echo "err ${UMZUG_SECRET_db_password}" >&2; touch %s; while [ ! -f %s ]; do sleep 0.1; done; exit 4`,
		ShellQuote(seen), ShellQuote(ready), ShellQuote(release))
	type out struct {
		res CommandResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		r, err := a.RunCommand(context.Background(), CommandInput{Host: h, Command: cmd, Purpose: "step migrate_db", Secrets: []string{"db_password"}, KeepOutput: true})
		done <- out{r, err}
	}()
	waitForFile(t, ready)
	if p := argvHolding(testSecret); p != "" {
		t.Errorf("a process has the secret in its argv: %s", p)
	}
	os.WriteFile(release, nil, 0o644)
	o := <-done
	if o.err != nil || o.res.ExitCode != 4 {
		t.Fatalf("%+v %v", o.res, o.err)
	}
	if got := readFile(t, seen); got != testSecret {
		t.Fatalf("the command saw %q", got)
	}
	if o.res.Stdout != "pw=(sensitive)\n" || o.res.Stderr != "err (sensitive)\n" {
		t.Fatalf("tails %q %q", o.res.Stdout, o.res.Stderr)
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Fatal("the secret's payload ran")
	}
	if a.RemoteStateDir != "" {
		assertNoSecretInRecords(t, a.RemoteStateDir)
	}
}

// argvHolding returns the command line of a process whose argv holds s.
func argvHolding(s string) string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), s) {
			return p + ": " + strings.ReplaceAll(string(b), "\x00", " ")
		}
	}
	return ""
}

// assertNoSecretInRecords: the attempt records hold no value (the
// command's own output files hold what it printed, readable by the SSH
// user only).
func assertNoSecretInRecords(t *testing.T, root string) {
	t.Helper()
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Name() == "stdout" || fi.Name() == "stderr" {
			return nil
		}
		if strings.Contains(readFile(t, p), testSecret) {
			t.Errorf("%s holds the secret", p)
		}
		return nil
	})
}

func TestRunCommandMissingSecretFailsBeforeRunning(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	marker := filepath.Join(t.TempDir(), "ran")
	_, err := (&Activities{}).RunCommand(context.Background(), CommandInput{Host: ts.host, Purpose: "step x",
		Command: "touch " + ShellQuote(marker), Secrets: []string{"absent_one"}})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != contract.ErrSecretMissing || !ae.NonRetryable() {
		t.Fatalf("%v", err)
	}
	wantAll(t, err.Error(), "UMZUG_SECRET_absent_one")
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("command ran without its secret")
	}
}

// A timed-out command's error and result never show the value.
func TestRunCommandRedactsErrors(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	t.Setenv("UMZUG_SECRET_tok", "tok-98765")
	res, err := (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host, Purpose: "step x",
		Command: `echo "$UMZUG_SECRET_tok"; sleep 5`, Timeout: 300 * time.Millisecond, Secrets: []string{"tok"}, KeepOutput: true})
	if err == nil || strings.Contains(err.Error(), "tok-98765") || strings.Contains(fmt.Sprintf("%+v", res), "tok-98765") {
		t.Fatalf("%+v %v", res, err)
	}
	var ae *temporal.ApplicationError
	var details CommandResult
	if !errors.As(err, &ae) || ae.Details(&details) != nil || details.Stdout != "(sensitive)\n" {
		t.Fatalf("details %+v of %v", details, err)
	}

	// Without KeepOutput the error's details hold the byte count only.
	_, err = (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host, Purpose: "step x",
		Command: `echo "$UMZUG_SECRET_tok" | base64; sleep 5`, Timeout: 300 * time.Millisecond, Secrets: []string{"tok"}})
	details = CommandResult{}
	if !errors.As(err, &ae) || ae.Details(&details) != nil || !strings.HasPrefix(details.Stdout, "[output withheld (17 bytes): step x uses") ||
		strings.Contains(fmt.Sprintf("%+v %v", details, err), "dG9rLTk4NzY1") {
		t.Fatalf("details %+v of %v", details, err)
	}
}

func TestTailTextNeverShowsPartOfASecret(t *testing.T) {
	red := newRedactor(map[string]string{"a": "ABCDEFGH"})
	// The fetched tail begins inside a secret's forms: "EFGH" is the end
	// of the value, "RUZHSA==" of its base64.
	for _, start := range []string{"EFGH", "RUZHSA=="} {
		chunk := start + strings.Repeat("-", red.maxForm()) + " rest ABCDEFGH end"
		got := tailText(chunk, 100000, red)
		if strings.Contains(got, start) || !strings.Contains(got, "rest (sensitive) end") || !strings.Contains(got, "earlier bytes cut") {
			t.Fatalf("%q", got)
		}
	}
	if got := tailText("x ABCDEFGH", 10, red); got != "x (sensitive)" {
		t.Fatalf("%q", got)
	}
}

// shellSecret has a quote, a space and a byte that is not ASCII (nor
// UTF-8), the characters that make bash -x and printf %q quote a value.
const shellSecret = "pa ss'w\xe9rd\"x1"

// shellForms are the forms of shellSecret a shell and common tools print.
func shellForms(t *testing.T) map[string]string {
	t.Helper()
	q, err := exec.Command("bash", "-c", `printf %q "$1"`, "-", shellSecret).Output()
	if err != nil {
		t.Fatal(err)
	}
	qc, _ := exec.Command("env", "LC_ALL=C", "bash", "-c", `printf %q "$1"`, "-", shellSecret).Output()
	return map[string]string{
		"raw":            shellSecret,
		"utf-8 cleaned":  strings.ToValidUTF8(shellSecret, "\uFFFD"),
		"single-quoted":  strings.ReplaceAll(shellSecret, "'", `'\''`),
		"printf %q":      string(q),
		"printf %q in C": string(qc),
		"base64":         base64.StdEncoding.EncodeToString([]byte(shellSecret)),
		"hex":            hex.EncodeToString([]byte(shellSecret)),
		"go %q":          strconv.Quote(shellSecret),
		"json":           strings.Trim(string(jsonOf(t, strings.ToValidUTF8(shellSecret, "\uFFFD"))), `"`),
	}
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bashXCommand traces itself with bash -x and prints the value in the
// forms programs print it in.
const bashXCommand = `bash -xc 'echo "pw=$UMZUG_SECRET_db_password"; printf "q=%q\n" "$UMZUG_SECRET_db_password"; ` +
	`printf %s "$UMZUG_SECRET_db_password" | base64; printf %s "$UMZUG_SECRET_db_password" | od -An -tx1 -v | tr -d " \n"; echo; exit 3'`

// A real bash -x step: with output = "keep", the output stays, and no
// form of the value is in the result, its JSON or its text.
func TestBashXStepRedactsEveryForm(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	t.Setenv("UMZUG_SECRET_db_password", shellSecret)
	assertBashXRedacted(t, &Activities{RemoteStateDir: t.TempDir()}, ts.host)
}

func assertBashXRedacted(t *testing.T, a *Activities, h Host) {
	t.Helper()
	res, err := a.RunCommand(context.Background(), CommandInput{Host: h,
		Purpose: "step migrate_db", Command: bashXCommand, Secrets: []string{"db_password"}, KeepOutput: true})
	if err != nil || res.ExitCode != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	// The output is kept: the trace, the prefixes, the marker.
	wantAll(t, res.Stderr, "+ echo", "(sensitive)", "+ printf")
	wantAll(t, res.Stdout, "pw=(sensitive)\n", "q=")
	if n := strings.Count(res.Stdout, Redacted); n < 4 {
		t.Errorf("%d redactions in %q", n, res.Stdout)
	}
	assertNoForm(t, res, shellForms(t))
}

func assertNoForm(t *testing.T, res CommandResult, forms map[string]string) {
	t.Helper()
	text := fmt.Sprintf("%+v", res) + string(jsonOf(t, res))
	for name, f := range forms {
		if strings.Contains(text, f) {
			t.Errorf("the %s form %q is in the result: %q %q", name, f, res.Stdout, res.Stderr)
		}
	}
}

// Without output = "keep" a command that uses a sensitive variable keeps
// its exit code, times and byte counts, and no byte of its output.
func TestSensitiveStepOutputWithheld(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	t.Setenv("UMZUG_SECRET_db_password", shellSecret)
	res, err := (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Purpose: "step migrate_db", Command: `echo "pw=$UMZUG_SECRET_db_password"; echo plain >&2; exit 2`, Secrets: []string{"db_password"}})
	if err != nil || res.ExitCode != 2 || res.Started.IsZero() || res.Finished.IsZero() {
		t.Fatalf("%+v %v", res, err)
	}
	note := `step migrate_db uses sensitive variable(s) db_password; set output = "keep" on its block to keep the output, redacted`
	if want := fmt.Sprintf("[output withheld (%d bytes): %s]", len("pw=")+len(shellSecret)+1, note); res.Stdout != want {
		t.Errorf("stdout %q, want %q", res.Stdout, want)
	}
	if want := "[output withheld (6 bytes): " + note + "]"; res.Stderr != want {
		t.Errorf("stderr %q, want %q", res.Stderr, want)
	}
	assertNoForm(t, res, shellForms(t))

	// A command that printed nothing keeps empty tails.
	res, err = (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Purpose: "step quiet", Command: `test -n "$UMZUG_SECRET_db_password"`, Secrets: []string{"db_password"}})
	if err != nil || res.ExitCode != 0 || res.Stdout != "" || res.Stderr != "" {
		t.Fatalf("%+v %v", res, err)
	}
}

// A value too short to redact is withheld even with output = "keep".
func TestShortSecretOutputWithheldEvenWhenKept(t *testing.T) {
	ts := startTestSSH(t, "fin_pb", sshserver.Options{})
	t.Setenv("UMZUG_SECRET_pin", "x9")
	res, err := (&Activities{RemoteStateDir: t.TempDir()}).RunCommand(context.Background(), CommandInput{Host: ts.host,
		Purpose: "step unlock", Command: `echo "pin=$UMZUG_SECRET_pin"`, Secrets: []string{"pin"}, KeepOutput: true})
	if err != nil || strings.Contains(res.Stdout, "x9") {
		t.Fatalf("%+v %v", res, err)
	}
	wantAll(t, res.Stdout, "[output withheld (7 bytes): ", "pin", "too short to redact")
}

// An error's message loses the value's forms; its type and retryability
// stay, and it carries only the (redacted) details given.
func TestRedactorErrorForms(t *testing.T) {
	red := newRedactor(map[string]string{"db_password": shellSecret})
	forms := shellForms(t)
	for name, f := range forms {
		for _, nonRetryable := range []bool{false, true} {
			var in error = temporal.NewApplicationError("launch failed: "+f, contract.ErrBadCommand, "raw details "+f)
			if nonRetryable {
				in = temporal.NewNonRetryableApplicationError("launch failed: "+f, contract.ErrBadCommand, nil, "raw details "+f)
			}
			err := red.Error(in, CommandResult{Stdout: "kept"})
			var ae *temporal.ApplicationError
			var details CommandResult
			if !errors.As(err, &ae) || ae.Type() != contract.ErrBadCommand || ae.NonRetryable() != nonRetryable ||
				ae.Details(&details) != nil || details.Stdout != "kept" || !strings.Contains(err.Error(), "launch failed: ") {
				t.Fatalf("%s: %v", name, err)
			}
			assertNoForm(t, CommandResult{Stderr: err.Error()}, forms)
		}
	}
	err := red.Error(fmt.Errorf("dial: %s", forms["single-quoted"]))
	if !strings.Contains(err.Error(), "dial: (sensitive)") {
		t.Fatalf("%v", err)
	}
	assertNoForm(t, CommandResult{Stderr: err.Error()}, forms)
}
