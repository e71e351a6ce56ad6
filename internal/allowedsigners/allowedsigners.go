package allowedsigners

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hiddeco/sshsig"
	"golang.org/x/crypto/ssh"
)

// The allowed_signers file as `ssh-keygen -Y verify` reads it (ssh-keygen(1),
// ALLOWED SIGNERS): "principals [options] key [comment]" per line, where
// principals is a pattern-list matched against the signer identity and
// options are cert-authority, namespaces="pattern-list",
// valid-after="time" and valid-before="time". A signature is accepted when
// any line lists its key (or, with cert-authority, the CA that signed its
// certificate), the identity matches the line's principals (and, for a
// certificate, is one of its principals), the namespace matches, and the
// verification time lies in the validity interval. Unlike ssh-keygen,
// which skips a line it cannot parse, umzug refuses the whole file and
// names the line: a typo must not silently drop a restriction.

// Bounds on what is read of an allowed_signers file.
const (
	maxSignersFile  = 1 << 20
	maxSignersLines = 10000
	maxSignersLine  = 16 << 10
	maxPatternLen   = 1023 // OpenSSH's bound on one pattern of a list
)

// File is a parsed allowed_signers file (or one public key).
type File struct {
	File    string
	Entries []Entry
}

// Entry is one line of an allowed_signers file.
type Entry struct {
	Line       int
	Principals string // pattern-list
	Key        ssh.PublicKey
	CA         bool   // cert-authority: Key signs certificates
	Namespaces string // pattern-list; "" with HasNS false: any namespace
	HasNS      bool
	// Name is who a bare public key (--public-key) stands for: its comment.
	Name string
	// ValidAfter and ValidBefore bound when the key may be used (zero:
	// unbounded).
	ValidAfter, ValidBefore time.Time
}

// Load reads and parses an allowed_signers file.
func Load(file string) (*File, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read allowed signers: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSignersFile+1))
	if err != nil {
		return nil, fmt.Errorf("read allowed signers %s: %w", file, err)
	}
	if len(b) > maxSignersFile {
		return nil, fmt.Errorf("allowed signers %s is larger than %d bytes", file, maxSignersFile)
	}
	return Parse(file, b)
}

// Parse parses the content of an allowed_signers file;
// errors name file:line. Validity times without Z are local time, as
// OpenSSH reads them.
func Parse(file string, b []byte) (*File, error) { return ParseIn(file, b, time.Local) }

// ParseIn is Parse with validity times without Z read in loc: code that
// must decide the same on every machine (a workflow) passes time.UTC.
func ParseIn(file string, b []byte, loc *time.Location) (*File, error) {
	out := &File{File: file}
	lines := strings.Split(string(b), "\n")
	if len(lines) > maxSignersLines {
		return nil, fmt.Errorf("%s: more than %d lines", file, maxSignersLines)
	}
	for i, line := range lines {
		n := i + 1
		if len(line) > maxSignersLine {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", file, n, maxSignersLine)
		}
		e, ok, err := parseSignerLine(strings.TrimSuffix(line, "\r"), loc)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		if ok {
			e.Line = n
			out.Entries = append(out.Entries, e)
		}
	}
	if len(out.Entries) == 0 {
		return nil, fmt.Errorf("%s lists no signer", file)
	}
	return out, nil
}

// parseSignerLine parses one line; ok is false for blank and comment lines.
func parseSignerLine(line string, loc *time.Location) (e Entry, ok bool, err error) {
	s := strings.TrimLeft(line, " \t")
	if s == "" || s[0] == '#' {
		return e, false, nil
	}
	if s[0] == '"' { // a quoted principals field
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return e, false, fmt.Errorf("principals: missing closing quote")
		}
		e.Principals, s = s[1:end+1], s[end+2:]
	} else {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return e, false, fmt.Errorf("missing key after principals %q", bounded(s))
		}
		e.Principals, s = s[:i], s[i:]
	}
	if e.Principals == "" {
		return e, false, fmt.Errorf("empty principals")
	}
	if err := checkPatternList(e.Principals); err != nil {
		return e, false, fmt.Errorf("principals: %w", err)
	}
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return e, false, fmt.Errorf("missing key")
	}
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil {
		return e, false, fmt.Errorf("no valid public key after the principals: %w", err)
	}
	e.Key = key
	if err := e.applyOptions(options, loc); err != nil {
		return e, false, err
	}
	return e, true, nil
}

// applyOptions reads the options as OpenSSH's sshsigopt_parse does: names
// are case-insensitive, values must be quoted, unknown or repeated
// options are errors.
func (e *Entry) applyOptions(options []string, loc *time.Location) error {
	seen := map[string]bool{}
	for _, o := range options {
		if strings.EqualFold(o, "cert-authority") {
			e.CA = true
			continue
		}
		name, val, ok := strings.Cut(o, "=")
		name = strings.ToLower(name)
		if !ok || (name != "namespaces" && name != "valid-after" && name != "valid-before") {
			return fmt.Errorf("unknown option %q (allowed: cert-authority, namespaces=, valid-after=, valid-before=)", bounded(o))
		}
		if seen[name] {
			return fmt.Errorf("option %s given twice", name)
		}
		seen[name] = true
		v, err := dequote(val)
		if err != nil {
			return fmt.Errorf("option %s: %w", name, err)
		}
		switch name {
		case "namespaces":
			if err := checkPatternList(v); err != nil {
				return fmt.Errorf("option namespaces: %w", err)
			}
			e.Namespaces, e.HasNS = v, true
		case "valid-after", "valid-before":
			t, err := parseAbsoluteTime(v, loc)
			if err != nil {
				return fmt.Errorf("option %s: %w", name, err)
			}
			if name == "valid-after" {
				e.ValidAfter = t
			} else {
				e.ValidBefore = t
			}
		}
	}
	return nil
}

// dequote reads a "quoted" option value; \" stands for a quote.
func dequote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", fmt.Errorf("value %q must be in double quotes", bounded(v))
	}
	inner := v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		switch {
		case inner[i] == '\\' && i+1 < len(inner) && inner[i+1] == '"':
			b.WriteByte('"')
			i++
		case inner[i] == '"':
			return "", fmt.Errorf("value %q has an unescaped quote inside", bounded(v))
		default:
			b.WriteByte(inner[i])
		}
	}
	return b.String(), nil
}

// parseAbsoluteTime reads YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, in UTC
// with a Z (or UTC) suffix and in loc without (OpenSSH: local time).
func parseAbsoluteTime(s string, loc *time.Location) (time.Time, error) {
	v := s
	switch {
	case len(v) > 1 && strings.EqualFold(v[len(v)-1:], "Z"):
		loc, v = time.UTC, v[:len(v)-1]
	case len(v) > 3 && strings.EqualFold(v[len(v)-3:], "UTC"):
		loc, v = time.UTC, v[:len(v)-3]
	}
	layout := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}[len(v)]
	if layout == "" || strings.Trim(v, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("time %q is not YYYYMMDD[Z], YYYYMMDDHHMM[Z] or YYYYMMDDHHMMSS[Z]", bounded(s))
	}
	t, err := time.ParseInLocation(layout, v, loc)
	if err != nil || t.Unix() <= 0 {
		return time.Time{}, fmt.Errorf("time %q is not a valid date and time", bounded(s))
	}
	return t, nil
}

// checkPatternList bounds a comma-separated pattern list.
func checkPatternList(list string) error {
	for _, p := range strings.Split(list, ",") {
		if len(p) > maxPatternLen {
			return fmt.Errorf("pattern longer than %d bytes", maxPatternLen)
		}
	}
	return nil
}

// matchPatternList is OpenSSH's match_pattern_list: 1 if s matches a
// pattern of the comma-separated list and no negated (!) one, -1 if a
// negated one matches, 0 otherwise. Matching is case-sensitive.
func matchPatternList(s, list string) int {
	got := 0
	for _, p := range strings.Split(list, ",") {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if len(p) > maxPatternLen || !matchPattern(s, p) {
			continue
		}
		if neg {
			return -1
		}
		got = 1
	}
	return got
}

// matchPattern matches s against a pattern of * (any run) and ? (any one
// byte), as OpenSSH's match_pattern.
func matchPattern(s, p string) bool {
	// Iterative wildcard matching with one backtrack point: linear in
	// practice and never exponential.
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// PublicKey trusts one public key (a .pub file or authorized_keys
// line) for any principal.
func PublicKey(file string) (*File, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	key, comment, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse public key %s: %w", file, err)
	}
	if comment == "" {
		comment = file
	}
	return &File{File: file, Entries: []Entry{{Line: 1, Principals: "*", Key: key, Name: comment}}}, nil
}

// Verify checks an armored SSHSIG signature over msg in namespace and
// that the file accepts its key for identity at now (identity "": any
// principal of a matching line), as `ssh-keygen -Y verify -f FILE -I
// identity -n namespace` does. It returns who signed, or why no line
// accepts the signer.
func (a *File) Verify(msg, armored []byte, namespace, identity string, now time.Time) (string, error) {
	sig, err := sshsig.Unarmor(armored)
	if err != nil {
		return "", fmt.Errorf("not an SSH signature: %w", err)
	}
	if sig.Namespace != namespace {
		return "", fmt.Errorf("signature namespace is %q, not %q", bounded(sig.Namespace), namespace)
	}
	fp := ssh.FingerprintSHA256(sig.PublicKey)
	if err := sshsig.Verify(bytes.NewReader(msg), sig, sig.PublicKey, sig.HashAlgorithm, namespace); err != nil {
		return "", fmt.Errorf("signature by %s does not match the signed file: %w", fp, err)
	}
	var why []string
	for _, e := range a.Entries {
		who, reason := e.accepts(sig.PublicKey, namespace, identity, now)
		if reason == "" {
			return fmt.Sprintf("%s (%s, %s line %d)", who, fp, a.File, e.Line), nil
		}
		if reason != "-" {
			why = append(why, fmt.Sprintf("line %d: %s", e.Line, reason))
		}
	}
	msgID := ""
	if identity != "" {
		msgID = fmt.Sprintf(" as %q", identity)
	}
	if len(why) == 0 {
		return "", fmt.Errorf("signed by %s, which %s does not list%s", fp, a.File, msgID)
	}
	return "", fmt.Errorf("signed by %s, which %s does not allow%s: %s", fp, a.File, msgID, strings.Join(why, "; "))
}

// accepts says whether the line allows key for identity at now: the
// principal it matched, or why not ("-": the line is not about this key
// or identity).
func (e Entry) accepts(key ssh.PublicKey, namespace, identity string, now time.Time) (string, string) {
	if identity != "" && matchPatternList(identity, e.Principals) != 1 {
		return "", "-"
	}
	who := identity
	switch {
	case who == "" && e.Name != "":
		who = e.Name
	case who == "":
		who = e.Principals
	}
	cert, isCert := key.(*ssh.Certificate)
	switch {
	case !e.CA && bytes.Equal(e.Key.Marshal(), key.Marshal()):
	case e.CA && isCert && bytes.Equal(cert.SignatureKey.Marshal(), e.Key.Marshal()):
		p, err := e.certPrincipal(cert, identity, now)
		if err != nil {
			return "", "certificate not accepted: " + err.Error()
		}
		who = p
	default:
		return "", "-"
	}
	if e.HasNS && matchPatternList(namespace, e.Namespaces) != 1 {
		return "", fmt.Sprintf("namespace %s not allowed (namespaces=%q)", namespace, e.Namespaces)
	}
	if !e.ValidAfter.IsZero() && now.Unix() < e.ValidAfter.Unix() {
		return "", "key not yet valid: valid-after " + e.ValidAfter.UTC().Format(time.RFC3339)
	}
	if !e.ValidBefore.IsZero() && now.Unix() > e.ValidBefore.Unix() {
		return "", "key has expired: valid-before " + e.ValidBefore.UTC().Format(time.RFC3339)
	}
	return who, ""
}

// certPrincipal checks a user certificate signed by the line's CA, valid
// at now, and returns the principal it vouches for: identity, which must
// be one of its principals, or (no identity) its first principal the
// line's patterns match.
func (e Entry) certPrincipal(cert *ssh.Certificate, identity string, now time.Time) (string, error) {
	if cert.CertType != ssh.UserCert {
		return "", fmt.Errorf("not a user certificate")
	}
	if len(cert.ValidPrincipals) == 0 {
		return "", fmt.Errorf("certificate lists no principal")
	}
	want := ""
	for _, p := range cert.ValidPrincipals {
		if identity != "" && p == identity || identity == "" && matchPatternList(p, e.Principals) == 1 {
			want = p
			break
		}
	}
	if want == "" && identity == "" {
		return "", fmt.Errorf("certificate principals %q match none of %q", bounded(strings.Join(cert.ValidPrincipals, ",")), bounded(e.Principals))
	}
	if want == "" {
		return "", fmt.Errorf("certificate principals %q do not include %q", bounded(strings.Join(cert.ValidPrincipals, ",")), bounded(identity))
	}
	// CheckCert verifies the CA's signature and the validity interval; the
	// critical options are not judged here, as ssh-keygen does not.
	supported := make([]string, 0, len(cert.CriticalOptions))
	for o := range cert.CriticalOptions {
		supported = append(supported, o)
	}
	checker := &ssh.CertChecker{SupportedCriticalOptions: supported, Clock: func() time.Time { return now }}
	if err := checker.CheckCert(want, cert); err != nil {
		return "", err
	}
	return want, nil
}

// maxShown bounds a value quoted in an error.
const maxShown = 160

func bounded(s string) string {
	if len(s) > maxShown {
		return strings.ToValidUTF8(s[:maxShown], "") + "…"
	}
	return s
}

// Lists reports whether some line's principals match identity, so a
// signature by that line's key can be accepted for it.
func (a *File) Lists(identity string) bool {
	for _, e := range a.Entries {
		if matchPatternList(identity, e.Principals) == 1 {
			return true
		}
	}
	return false
}
