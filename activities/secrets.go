package activities

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/umzug-dev/umzug/activities/contract"
)

// Redacted replaces a secret value wherever it would leave the worker.
const Redacted = "(sensitive)"

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

// redactor replaces secret values in text leaving the worker.
type redactor struct {
	r      *strings.Replacer
	values []string // longest first
}

func newRedactor(vals map[string]string) *redactor {
	var vs []string
	for _, v := range vals {
		if v != "" {
			vs = append(vs, v)
		}
	}
	sort.Slice(vs, func(i, j int) bool { return len(vs[i]) > len(vs[j]) })
	var pairs []string
	for _, v := range vs {
		pairs = append(pairs, v, Redacted)
	}
	return &redactor{r: strings.NewReplacer(pairs...), values: vs}
}

// String redacts s.
func (r *redactor) String(s string) string {
	if r == nil || len(r.values) == 0 {
		return s
	}
	return r.r.Replace(s)
}

// maxLen is the longest secret, the overlap a cut tail must drop.
func (r *redactor) maxLen() int {
	if r == nil || len(r.values) == 0 {
		return 0
	}
	return len(r.values[0])
}

// cutFragment drops a leading piece of s that may be the end of a secret
// whose beginning was cut off, so a tail never shows part of a value.
func (r *redactor) cutFragment(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		for k := len(v) - 1; k > 0; k-- {
			if strings.HasPrefix(s, v[len(v)-k:]) {
				s = s[k:]
				break
			}
		}
	}
	return s
}

// Error redacts an error's message, keeping ApplicationError type and
// retryability (details are dropped: they could hold output).
func (r *redactor) Error(err error, details ...any) error {
	if err == nil || r == nil || len(r.values) == 0 {
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
