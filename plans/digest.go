package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"golang.org/x/crypto/argon2"
)

// Argon2id cost of a sensitive value in the run digest (the RFC 9106 /
// OWASP minimum: 19 MiB, 2 passes): a guess at a secret costs that much.
const (
	digestArgonTime   = 2
	digestArgonMemory = 19 * 1024 // KiB
)

// RunDigest is the hex SHA-256 that binds an approval to what will run:
// the plan files (their SHA256) and every variable's resolved value, by
// name. A non-sensitive value enters as written. A sensitive value enters
// only as Argon2id(value, salt = plan SHA256 NUL name): the digest is
// public (status, the Web UI, the audit), and a slow, salted hash makes
// guessing a secret from it as costly as a password guess, while anyone
// who holds the same value recomputes the same digest. A sensitive
// variable without a value here (resolved on the worker) enters as unset.
// Changing a file, a --var, a --var-file or an UMZUG_VAR_ value changes it.
func (p *Plan) RunDigest() string {
	h := sha256.New()
	fmt.Fprintf(h, "umzug run digest v1\nplan %s\n", p.SHA256)
	vars := slices.Clone(p.Variables)
	slices.SortFunc(vars, func(a, b *Variable) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	for _, v := range vars {
		switch {
		case !v.Sensitive:
			fmt.Fprintf(h, "var %s = %s\n", strconv.Quote(v.Name), strconv.Quote(v.Value))
		case v.Value == "":
			fmt.Fprintf(h, "var %s sensitive unset\n", strconv.Quote(v.Name))
		default:
			salt := []byte(p.SHA256 + "\x00" + v.Name)
			k := argon2.IDKey([]byte(v.Value), salt, digestArgonTime, digestArgonMemory, 1, 32)
			fmt.Fprintf(h, "var %s sensitive argon2id %s\n", strconv.Quote(v.Name), hex.EncodeToString(k))
		}
	}
	// A signers file (allowed_signers) lies outside the plan files: its
	// digest enters by application, and only when one is named, so the
	// digests of plans without one are unchanged.
	for _, a := range p.Applications {
		if a.Cutover != nil && a.Cutover.Approval != nil && a.Cutover.Approval.Signers != nil {
			fmt.Fprintf(h, "signers %s approval %s\n", strconv.Quote(a.Name), a.Cutover.Approval.Signers.SHA256)
		}
		if a.Emergency != nil && a.Emergency.Signers != nil {
			fmt.Fprintf(h, "signers %s emergency %s\n", strconv.Quote(a.Name), a.Emergency.Signers.SHA256)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
