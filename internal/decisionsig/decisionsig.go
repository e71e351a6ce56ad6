package decisionsig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"

	"github.com/umzug-dev/umzug/internal/allowedsigners"
)

const (
	// Version is the statement's first line; a new layout gets a new one.
	Version = "umzug-approval-v1"
	// Namespace is the SSHSIG namespace: ssh-keygen -Y sign -n umzug-approval.
	Namespace = "umzug-approval"
	// MaxSignatureBytes bounds an armored signature as sent.
	MaxSignatureBytes = 4 << 10
	// MaxSkew is how far the statement's time may lie from the workflow's
	// clock: a signature is good for a short while only, so one copied
	// from an old decision cannot be replayed later.
	MaxSkew = 15 * time.Minute
)

// Statement is what a signer signs: one decision on one run of one move.
type Statement struct {
	MoveID    string
	RunID     string
	RunDigest string
	Decision  string // approve, reject, commit, rollback, confirm, failover
	Signer    string // the decision's name as sent (approver, by)
	Comment   string // the comment or reason as sent; enters as its SHA-256
	Time      time.Time
}

// TimeFormat is the statement's (and the payload's signed_at) time form.
const TimeFormat = "2006-01-02T15:04:05Z"

// CommentDigest is the hex SHA-256 of a comment.
func CommentDigest(c string) string {
	s := sha256.Sum256([]byte(c))
	return hex.EncodeToString(s[:])
}

// Text is the canonical statement: one field per line, each line
// "key value", ending in a newline.
func (s Statement) Text() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n", Version)
	fmt.Fprintf(&b, "move %s\n", oneLine(s.MoveID))
	fmt.Fprintf(&b, "run %s\n", oneLine(s.RunID))
	fmt.Fprintf(&b, "run-digest %s\n", oneLine(s.RunDigest))
	fmt.Fprintf(&b, "decision %s\n", oneLine(s.Decision))
	fmt.Fprintf(&b, "signer %s\n", oneLine(s.Signer))
	fmt.Fprintf(&b, "comment-sha256 %s\n", CommentDigest(s.Comment))
	fmt.Fprintf(&b, "time %s\n", s.Time.UTC().Format(TimeFormat))
	return b.Bytes()
}

// oneLine keeps a field on its line: a newline in a name would let one
// statement read as another.
func oneLine(v string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, `\`, `\\`).Replace(v)
}

// ParseTime reads a signed_at value; it must be in TimeFormat (UTC, whole
// seconds), so the statement's text is the one that was signed.
func ParseTime(v string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("signed_at %q is not a UTC time like %s", clip(v), TimeFormat)
	}
	return t, nil
}

// Verify checks armored, an SSHSIG signature in Namespace over s.Text(),
// against the allowed_signers content signers for principal (the plan's
// spelling of s.Signer), judging validity at s.Time, and that s.Time
// lies within MaxSkew of now. It returns the signing key's SHA256
// fingerprint.
func Verify(signers []byte, s Statement, principal, armored string, now time.Time) (string, error) {
	if len(armored) > MaxSignatureBytes {
		return "", fmt.Errorf("signature is %d bytes, over the limit of %d bytes", len(armored), MaxSignatureBytes)
	}
	if d := s.Time.Sub(now); d > MaxSkew || d < -MaxSkew {
		return "", fmt.Errorf("statement time %s is %s away from the move's clock %s (at most %s): sign a fresh statement",
			s.Time.UTC().Format(TimeFormat), d.Abs().Round(time.Second), now.UTC().Format(TimeFormat), MaxSkew)
	}
	file, err := allowedsigners.ParseIn("signers", signers, time.UTC)
	if err != nil {
		return "", fmt.Errorf("the plan's signers: %w", err)
	}
	if _, err := file.Verify(s.Text(), []byte(armored), Namespace, principal, s.Time); err != nil {
		return "", err
	}
	return Fingerprint(armored)
}

// Fingerprint is the SHA256 fingerprint of the key an armored signature
// names (unverified).
func Fingerprint(armored string) (string, error) {
	sig, err := sshsig.Unarmor([]byte(armored))
	if err != nil {
		return "", fmt.Errorf("not an SSH signature: %w", err)
	}
	return ssh.FingerprintSHA256(sig.PublicKey), nil
}

// Sign signs s with signer in Namespace and returns the armored signature.
func Sign(s Statement, signer ssh.Signer) (string, error) {
	sig, err := sshsig.Sign(bytes.NewReader(s.Text()), signer, sshsig.HashSHA512, Namespace)
	if err != nil {
		return "", fmt.Errorf("sign the approval statement: %w", err)
	}
	return string(sshsig.Armor(sig)), nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
