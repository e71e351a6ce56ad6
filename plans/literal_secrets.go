package plans

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// secretKey is a name that, given a value, makes the value a credential:
// PGPASSWORD, --password, api_key, client_secret, auth-token and the like.
// The name must end in the keyword, so --password-file or token_type do
// not count.
const secretKey = `[A-Za-z0-9_.-]*(?i:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)`

// shellValue is one shell word: quoted, or up to a separator.
const shellValue = `("[^"]*"|'[^']*'|[^\s;&|()]*)`

var literalSecretPatterns = []struct {
	re   *regexp.Regexp
	form string // how the diagnostic names the place, without the value
}{
	{regexp.MustCompile(`(?:^|[^A-Za-z0-9_.-])(-{0,2}` + secretKey + `)=` + shellValue), "%s=…"},
	{regexp.MustCompile(`(?:^|\s)(--` + secretKey + `)\s+` + shellValue), "%s …"},
	{regexp.MustCompile(`(?i)(?:^|[\s"'])(Bearer)\s+` + shellValue), "%s …"},
	{regexp.MustCompile(`(?i)[a-z][a-z0-9+.-]*://[^\s/:@]+(:)([^\s/@]+)@`), "a URL's user%s…@"},
}

// checkLiteralSecrets refuses a command that gives a credential a value
// written in the plan (or taken from a variable that is not sensitive):
// the command text is stored in the workflow history, status and audit.
// It is an error rather than a warning because the fix always exists
// (a sensitive variable) and a warning would still let the value leak.
// Values the remote shell expands ($VAR, ${UMZUG_SECRET_x}, $(cat f)),
// file arguments (@file, /path) and empty values are not secrets here.
func (l *loader) checkLiteralSecrets(a *hcl.Attribute, cmd, what string) {
	for _, p := range literalSecretPatterns {
		for _, m := range p.re.FindAllStringSubmatch(cmd, -1) {
			if !literalValue(m[2]) {
				continue
			}
			where := strings.Replace(p.form, "%s", m[1], 1)
			l.errorf(a.Expr.Range(), "Literal secret in command",
				"%s: %s has a value written in the plan (or taken from a variable that is not sensitive), and the command text is kept in the workflow history, status and audit. Declare variable \"NAME\" { sensitive = true }, write \"${var.NAME}\" in its place, and give the workers the value as %sNAME.",
				what, where, SecretEnvPrefix)
			return
		}
	}
}

// literalValue reports whether a matched shell word is a value rather than
// something the shell or the program resolves on the host.
func literalValue(word string) bool {
	w := strings.Trim(word, `"'`)
	if w == "" {
		return false
	}
	switch w[0] {
	case '$', '`', '@', '/', '<':
		return false
	}
	return true
}
