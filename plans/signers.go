package plans

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/umzug-dev/umzug/internal/allowedsigners"
	"github.com/umzug-dev/umzug/internal/identity"
)

// MaxSignersBytes bounds an approval's signers file: its bytes travel in
// the move's input, which Temporal keeps in every run's history.
const MaxSignersBytes = 64 << 10

// Signers is an OpenSSH allowed_signers file named by an approval or
// emergency block: the public keys whose signatures a decision needs.
type Signers struct {
	File   string // as resolved, relative to the plan file naming it
	Bytes  []byte
	SHA256 string
}

// signers reads the signers attribute: a plan-relative allowed_signers
// file of at most MaxSignersBytes, parsed with ssh-keygen's rules, that
// must give every name in people (approvers, operators) a principal line.
func (l *loader) signers(a *hcl.Attribute, people ...[]string) *Signers {
	name, ok := l.str(a, "signers")
	if !ok {
		return nil
	}
	rng := a.Expr.Range()
	if name == "" {
		l.errorf(rng, "Empty signers", "signers names an OpenSSH allowed_signers file (relative to this plan file), e.g. \"approvers.allowed_signers\".")
		return nil
	}
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(rng.Filename), file)
	}
	f, err := os.Open(file)
	if err != nil {
		l.errorf(rng, "Cannot read signers", "cannot read the allowed_signers file %s: %v; create it with one line per approver: NAME ssh-ed25519 AAAA…", file, err)
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSignersBytes+1))
	switch {
	case err != nil:
		l.errorf(rng, "Cannot read signers", "cannot read the allowed_signers file %s: %v", file, err)
		return nil
	case len(b) > MaxSignersBytes:
		l.errorf(rng, "Signers file too large", "the allowed_signers file %s is larger than %d bytes; it holds public keys only, one line per approver.", file, MaxSignersBytes)
		return nil
	}
	parsed, err := allowedsigners.Parse(file, b)
	if err != nil {
		l.errorf(rng, "Invalid signers file", "%v (ssh-keygen(1), ALLOWED SIGNERS: principals [options] key [comment])", err)
		return nil
	}
	var missing []string
	seen := map[string]bool{}
	for _, list := range people {
		for _, who := range list {
			if seen[who] {
				continue
			}
			seen[who] = true
			if !parsed.Lists(who) {
				missing = append(missing, identity.Quote(who))
			}
		}
	}
	if len(missing) > 0 {
		l.errorf(rng, "Signers file misses people",
			"the allowed_signers file %s has no principal line for %s: every approver and operator signs decisions, so add a line \"NAME ssh-ed25519 AAAA…\" for each.",
			file, strings.Join(missing, ", "))
		return nil
	}
	sum := sha256.Sum256(b)
	return &Signers{File: file, Bytes: b, SHA256: hex.EncodeToString(sum[:])}
}

func (s *Signers) String() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%s (sha256 %s)", s.File, s.SHA256)
}
