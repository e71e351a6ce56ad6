package redact

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Marker stands in for every form of a secret value.
const Marker = "(sensitive)"

// MinLen is the shortest value that can be redacted: replacing every
// occurrence of a one-, two- or three-byte value in output would both
// mangle the output and show where, and so what, the value is.
const MinLen = 4

// maxEscapedLen is the longest value whose escaped forms (one pattern
// alternative per character) are matched; a longer value, such as a key
// file, is matched as it is, single-quoted, in hex and in base64 only,
// which keeps the matcher small.
const maxEscapedLen = 1024

// Redactor replaces every form of a set of values with Marker.
type Redactor struct {
	re      *regexp.Regexp
	maxForm int
	short   bool
}

// New builds a redactor for values; empty values are ignored (they show
// nothing). It fails only when the values make a matcher too large, and
// then says nothing of them.
func New(values ...string) (*Redactor, error) {
	var alts []string
	r := &Redactor{}
	for _, v := range values {
		if v == "" {
			continue
		}
		if len(v) < MinLen {
			r.short = true
		}
		fs := forms(v)
		alts = append(alts, fs.patterns...)
		r.maxForm = max(r.maxForm, fs.maxLen)
	}
	if len(alts) == 0 {
		return r, nil
	}
	re, err := regexp.Compile(strings.Join(alts, "|"))
	if err != nil {
		return nil, errTooLarge
	}
	re.Longest()
	r.re = re
	return r, nil
}

type redactError string

func (e redactError) Error() string { return string(e) }

const errTooLarge = redactError("the secret values are too long to build a redaction matcher for")

// HasShort reports whether a value is shorter than MinLen: the caller must
// withhold the text instead of redacting it.
func (r *Redactor) HasShort() bool { return r != nil && r.short }

// MaxForm is an upper bound on the length of any form of any value: a
// reader of a stream's tail reads this much more than it keeps, so Tail
// can drop a form cut by the chunk's start.
func (r *Redactor) MaxForm() int {
	if r == nil {
		return 0
	}
	return r.maxForm
}

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil || r.re == nil {
		return s
	}
	return r.redact(s, 0)
}

// Tail redacts a chunk cut from the end of a longer stream. A form that
// began before the chunk may end inside it, where no pattern matches a
// piece of it, so the chunk's first MaxForm()-1 bytes are dropped (a
// match that reaches past them still shows as Marker). It returns the
// text and how many bytes of chunk it dropped.
func (r *Redactor) Tail(chunk string) (string, int) {
	if r == nil || r.re == nil {
		return chunk, 0
	}
	drop := min(r.maxForm-1, len(chunk))
	return r.redact(chunk, drop), drop
}

// redact replaces every match with Marker, from byte from on. Matches
// may overlap (a value repeated with a shared part): every start is
// searched, and overlapping matches become one Marker, so no part of a
// form survives next to another.
func (r *Redactor) redact(s string, from int) string {
	type span struct{ lo, hi int }
	var spans []span
	for i := 0; i < len(s); {
		loc := r.re.FindStringIndex(s[i:])
		if loc == nil {
			break
		}
		lo, hi := i+loc[0], i+loc[1]
		if hi == lo { // no pattern matches empty text; stay safe
			i = lo + 1
			continue
		}
		if n := len(spans); n > 0 && lo <= spans[n-1].hi {
			spans[n-1].hi = max(spans[n-1].hi, hi)
		} else {
			spans = append(spans, span{lo, hi})
		}
		// The next start is the next character: a match may begin
		// inside this one.
		_, w := utf8.DecodeRuneInString(s[lo:])
		i = lo + w
	}
	if len(spans) == 0 {
		return s[from:]
	}
	var b strings.Builder
	pos := from
	for _, sp := range spans {
		if sp.hi <= from {
			continue
		}
		if sp.lo > pos {
			b.WriteString(s[pos:sp.lo])
		}
		b.WriteString(Marker)
		pos = sp.hi
	}
	b.WriteString(s[pos:])
	return b.String()
}
