package redact

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
)

// Marker stands in for every form of a secret value.
const Marker = "(sensitive)"

// MinLen is the shortest value that can be redacted: replacing every
// occurrence of a one-, two- or three-byte value in output would both
// mangle the output and show where, and so what, the value is.
const MinLen = 4

// maxEscapedLen is the longest value whose escaped forms (one pattern
// alternative per character) are matched; a longer value, such as a key
// file, is matched as it is, single-quoted, in hex and in base64 only, by
// plain string search, which stays fast however long it is.
const maxEscapedLen = 512

// MaxLen is the longest value New accepts (the length of a secrets file
// line); the caller withholds text it cannot redact.
const MaxLen = 1 << 20

// Redactor replaces every form of a set of values with Marker.
type Redactor struct {
	re       *regexp.Regexp
	literals []string
	maxForm  int
	short    bool
}

// New builds a redactor for values. Empty values are ignored (they show
// nothing), and so are values shorter than MinLen, which HasShort
// reports. It fails only for a value longer than MaxLen, and then says
// nothing of it.
func New(values ...string) (*Redactor, error) {
	var alts []string
	r := &Redactor{}
	for _, v := range values {
		if v == "" {
			continue
		}
		if len(v) < MinLen {
			// Not matched: HasShort tells the caller to withhold.
			r.short = true
			continue
		}
		if len(v) > MaxLen {
			return nil, errTooLarge
		}
		fs := forms(v)
		alts = append(alts, fs.patterns...)
		r.literals = append(r.literals, fs.literals...)
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
	if r == nil || r.maxForm == 0 {
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
	if r == nil || r.maxForm == 0 {
		return chunk, 0
	}
	drop := min(r.maxForm-1, len(chunk))
	return r.redact(chunk, drop), drop
}

// redact replaces every match with Marker, from byte from on. Matches
// are searched leftmost-longest, each after the end of the last: a form
// that begins inside another (overlapping copies of a value with a
// repeated part, which printing a value never produces) keeps its part
// past the first; searching every start instead costs the square of a
// value's length per byte for a repetitive value.
func (r *Redactor) redact(s string, from int) string {
	var spans []span
	if r.re != nil {
		for _, loc := range r.re.FindAllStringIndex(s, -1) {
			spans = append(spans, span{loc[0], loc[1]})
		}
	}
	for _, l := range r.literals {
		for i := 0; i < len(s); {
			k := strings.Index(s[i:], l)
			if k < 0 {
				break
			}
			spans = append(spans, span{i + k, i + k + len(l)})
			i += k + len(l)
		}
	}
	if len(spans) == 0 {
		return s[from:]
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	var b strings.Builder
	pos := from
	for _, sp := range spans {
		if sp.hi <= pos {
			continue // inside a span already replaced, or dropped
		}
		if sp.lo > pos {
			b.WriteString(s[pos:sp.lo])
		}
		if sp.lo >= pos || b.Len() == 0 { // else it extends the last Marker
			b.WriteString(Marker)
		}
		pos = sp.hi
	}
	b.WriteString(s[pos:])
	return b.String()
}

type span struct{ lo, hi int }
