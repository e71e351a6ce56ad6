package audit

import (
	"os"
	"testing"

	"github.com/umzug-dev/umzug/internal/allowedsigners"
)

// verify checks the signer against --identity and the file's options.
func TestVerifyBundleIdentityAndValidity(t *testing.T) {
	dir, key, _ := recordedBundle(t)
	pub, _ := os.ReadFile(key + ".pub")
	for _, c := range []struct {
		allowed, identity string
		ok                bool
	}{
		{"auditor@example ", "auditor@example", true},
		{"auditor@example ", "mallory@example", false},
		{`auditor@example valid-before="20200101" `, "auditor@example", false},
		{`auditor@example valid-before="20200101" `, "", false},
		{`auditor@example namespaces="git" `, "", false},
	} {
		s, err := allowedsigners.Parse("allowed", append([]byte(c.allowed), pub...))
		if err != nil {
			t.Fatal(err)
		}
		v := VerifyBundle(dir, VerifyOptions{Signers: s, Identity: c.identity})
		if v.OK() != c.ok || !c.ok && !names(v, SumsFile) {
			t.Errorf("%q as %q: %+v", c.allowed, c.identity, v)
		}
	}
}
