package activities

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
	"github.com/umzug-dev/umzug/internal/redact"
)

// Redacted replaces a secret value wherever it would leave the worker.
const Redacted = redact.Marker

var secretName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolveSecrets looks up each named secret: first the worker's
// environment variable UMZUG_SECRET_<name>, then a.SecretsFile. Values
// never travel through history; only the names do.
func (a *Activities) resolveSecrets(names []string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	path := a.secretsFile()
	var file map[string]string
	var fileErr error
	loaded := false
	vals := make(map[string]string, len(names))
	for _, n := range names {
		if !secretName.MatchString(n) {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("secret name %q is not a valid shell variable name (letters, digits, _)", n), contract.ErrSecretMissing, nil)
		}
		env := SecretEnvPrefix + n
		if v, ok := os.LookupEnv(env); ok {
			vals[n] = v
			continue
		}
		if !loaded && path != "" {
			file, fileErr = readSecretsFile(path)
			loaded = true
		}
		if fileErr != nil {
			return nil, temporal.NewNonRetryableApplicationError(fileErr.Error(), contract.ErrSecretMissing, nil)
		}
		if v, ok := file[env]; ok {
			vals[n] = v
			continue
		}
		return nil, temporal.NewNonRetryableApplicationError(missingSecret(n, path), contract.ErrSecretMissing, nil)
	}
	for n, v := range vals {
		if strings.ContainsRune(v, 0) {
			return nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("secret %s contains a NUL byte, which no shell variable can hold", n), contract.ErrSecretMissing, nil)
		}
	}
	return vals, nil
}

func missingSecret(name, file string) string {
	host, _ := os.Hostname()
	where := "no secrets file is configured (set " + SecretsFileEnv + " for the worker)"
	if file != "" {
		where = fmt.Sprintf("secrets file %s has no line %s%s=…", file, SecretEnvPrefix, name)
	}
	return fmt.Sprintf("secret %s is missing on worker %s: environment variable %s%s is not set and %s; provide it to the worker, then retry the move",
		name, host, SecretEnvPrefix, name, where)
}

// SecretsFileEnv names the worker's secrets file when Activities.SecretsFile
// is empty.
const SecretsFileEnv = "UMZUG_SECRETS_FILE"

func (a *Activities) secretsFile() string {
	if a.SecretsFile != "" {
		return a.SecretsFile
	}
	return os.Getenv(SecretsFileEnv)
}

// readSecretsFile parses KEY=VALUE lines (# comments, blank lines). The
// file must be readable by its owner only: a secret readable by the group
// or the world is already leaked.
func readSecretsFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open secrets file %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat secrets file %s: %w", path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("secrets file %s has mode %04o, which lets others read or change it; run chmod 600 %s", path, perm, path)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		if !ok || !secretName.MatchString(k) {
			// The line itself may hold a value: never quote it.
			return nil, fmt.Errorf("secrets file %s line %d is not KEY=VALUE", path, n)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read secrets file %s: %w", path, err)
	}
	return out, nil
}

// exportScript is what the remote shell reads from stdin: one export per
// secret, each value as a single-quoted shell word.
func exportScript(vals map[string]string) string {
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "export %s%s=%s\n", SecretEnvPrefix, n, ShellQuote(vals[n]))
	}
	return b.String()
}

// redactor replaces secret values, and the forms programs print them in,
// in text leaving the worker (see internal/redact).
type redactor struct {
	r *redact.Redactor
	// exact is the fallback when no matcher could be built: the values
	// as they are (output is then withheld, see withheldNote).
	exact *strings.Replacer
	// short names the values too short to redact.
	short []string
}

func newRedactor(vals map[string]string) *redactor {
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	values := make([]string, 0, len(vals))
	red := &redactor{}
	for _, n := range names {
		v := vals[n]
		values = append(values, v)
		if v != "" && len(v) < redact.MinLen {
			red.short = append(red.short, n)
		}
	}
	r, err := redact.New(values...)
	if err != nil {
		sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
		var pairs []string
		for _, v := range values {
			if len(v) >= redact.MinLen {
				pairs = append(pairs, v, Redacted)
			}
		}
		red.exact = strings.NewReplacer(pairs...)
		return red
	}
	red.r = r
	return red
}

// String redacts s.
func (r *redactor) String(s string) string {
	switch {
	case r == nil:
		return s
	case r.exact != nil:
		return r.exact.Replace(s)
	}
	return r.r.String(s)
}

// tail redacts a chunk cut from the end of a longer stream, dropping a
// leading piece that may be the end of a form whose beginning was cut
// off; it returns how many bytes of chunk it dropped.
func (r *redactor) tail(chunk string) (string, int) {
	if r == nil || r.r == nil {
		return r.String(chunk), 0
	}
	return r.r.Tail(chunk)
}

// maxForm is how much longer than its tail an output chunk must be read
// for tail to drop a cut form and still keep the tail.
func (r *redactor) maxForm() int {
	if r == nil || r.r == nil {
		return 0
	}
	return r.r.MaxForm()
}

// withheldNote says why a command's output is not kept, or is "" when it
// is: a command that uses a sensitive variable keeps no output unless its
// plan block says output = "keep", and even then not when a value is too
// short (or too long) to be redacted safely.
func withheldNote(in CommandInput, red *redactor) string {
	if len(in.Secrets) == 0 {
		return ""
	}
	names := strings.Join(in.Secrets, ", ")
	switch {
	case !in.KeepOutput:
		return fmt.Sprintf("%s uses sensitive variable(s) %s; set output = \"keep\" on its block to keep the output, redacted", in.Purpose, names)
	case len(red.short) > 0:
		return fmt.Sprintf("sensitive variable(s) %s on this worker are shorter than %d bytes, too short to redact", strings.Join(red.short, ", "), redact.MinLen)
	case red.exact != nil:
		return fmt.Sprintf("the values of sensitive variable(s) %s are too long to redact", names)
	}
	return ""
}

// withheldText stands in for a stream of a command whose output is not
// kept: it keeps the byte count (known once the command exited), never a
// byte of the output.
func withheldText(size int64, exited bool, note string) string {
	switch {
	case exited && size == 0:
		return ""
	case exited:
		return fmt.Sprintf("[output withheld (%d bytes): %s]", size, note)
	}
	return fmt.Sprintf("[output withheld: %s]", note)
}

// Error redacts an error's message, keeping ApplicationError type and
// retryability. A changed error carries only the details given here
// (already redacted), not its own: they could hold output.
func (r *redactor) Error(err error, details ...any) error {
	if err == nil || r == nil {
		return err
	}
	msg := r.String(err.Error())
	if msg == err.Error() {
		return err
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		if ae.NonRetryable() {
			return temporal.NewNonRetryableApplicationError(msg, ae.Type(), nil, details...)
		}
		return temporal.NewApplicationError(msg, ae.Type(), details...)
	}
	return errors.New(msg)
}

// CheckSecrets resolves every named secret on this worker, as RunCommand
// will for the host's steps, and reports all that are missing at once. It
// runs before any approval on the queue of the host whose commands use
// them: the Preflight activity runs on the target's queue only. It
// returns no values.
func (a *Activities) CheckSecrets(ctx context.Context, in contract.CheckSecretsInput) error {
	if len(in.Names) > maxCheckedSecrets {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("secrets check for %s %s: %d names, more than %d", in.Side, in.Host.Name, len(in.Names), maxCheckedSecrets), contract.ErrSecretMissing, nil)
	}
	var missing []string
	for _, n := range in.Names {
		if _, err := a.resolveSecrets([]string{n}); err != nil {
			var ae *temporal.ApplicationError
			if !errors.As(err, &ae) {
				return err
			}
			missing = append(missing, ae.Message())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("the steps on %s %s use secrets this worker cannot supply: %s",
		in.Side, in.Host.Name, strings.Join(missing, "; ")), contract.ErrSecretMissing, nil)
}

// maxCheckedSecrets bounds a CheckSecrets request.
const maxCheckedSecrets = 1024
