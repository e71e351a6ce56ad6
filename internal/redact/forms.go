package redact

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// formSet is what matches one value's forms: pattern alternatives,
// literal strings (for long values) and the longest text any matches.
type formSet struct {
	patterns []string
	literals []string
	maxLen   int
}

// forms lists the patterns for v:
//   - escaped: each character as it is or in any escape a shell, JSON, URL
//     or HTML encoder writes for it (so one pattern matches all of them,
//     mixed too): bash -x quoting (a quote as the four characters
//     quote, backslash, quote, quote), it\'s, $'\303\251', "\u00e9",
//     %C3%A9, a+b;
//   - hex, any case;
//   - base64, standard and URL alphabets, whole (with and without
//     padding) and, for a value inside a longer stream, the characters
//     that carry only the value's bits at each of the three byte offsets.
//
// A value longer than maxEscapedLen is matched by literal strings only:
// as it is, UTF-8 cleaned, single-quoted, in lower and upper case hex and
// in base64 as above.
func forms(v string) formSet {
	var fs formSet
	h := hex.EncodeToString([]byte(v))
	if len(v) <= maxEscapedLen {
		p, n := escaped(v)
		fs.add(p, n)
		fs.add("(?i:"+h+")", len(h))
	} else {
		fs.lit(v)
		fs.lit(strings.ToValidUTF8(v, "\uFFFD"))
		fs.lit(strings.ReplaceAll(v, "'", `'\''`))
		fs.lit(h)
		fs.lit(strings.ToUpper(h))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		whole := enc.EncodeToString([]byte(v))
		b64 := []string{whole, strings.TrimRight(whole, "=")}
		for off := range 3 {
			if c := base64Core(enc, v, off); len(c) >= minBase64Core {
				b64 = append(b64, c)
			}
		}
		for _, f := range b64 {
			if len(v) <= maxEscapedLen {
				fs.add(regexp.QuoteMeta(f), len(f))
			} else {
				fs.lit(f)
			}
		}
	}
	return fs
}

func (fs *formSet) add(p string, n int) {
	fs.patterns = append(fs.patterns, p)
	fs.maxLen = max(fs.maxLen, n)
}

func (fs *formSet) lit(s string) {
	fs.literals = append(fs.literals, s)
	fs.maxLen = max(fs.maxLen, len(s))
}

// minBase64Core: a core of fewer characters (24 bits) would match
// unrelated base64 too often to be worth redacting.
const minBase64Core = 4

// base64Core is the part of the base64 of a stream holding v at byte
// offset off (mod 3) that depends on v's bits alone: the characters at
// each end mix v's bits with its neighbours' and are not included.
func base64Core(enc *base64.Encoding, v string, off int) string {
	buf := make([]byte, off+len(v)+2)
	copy(buf[off:], v)
	s := enc.WithPadding(base64.NoPadding).EncodeToString(buf)
	lo, hi := 8*off, 8*(off+len(v)) // v's bits
	first := (lo + 5) / 6           // first character starting at or after lo
	last := hi/6 - 1                // last character ending at or before hi
	if last < first {
		return ""
	}
	return s[first : last+1]
}

// escaped matches v with each character in any of its escapes, and
// bounds the length of a match.
func escaped(v string) (string, int) {
	var b strings.Builder
	total := 2 // a quote opened or closed around the first or last '
	for i, w := 0, 0; i < len(v); i += w {
		r, n := utf8.DecodeRuneInString(v[i:])
		w = n
		if r == utf8.RuneError && n == 1 {
			// A run of bytes that are not UTF-8: each as itself or
			// escaped, or the whole run as the one U+FFFD a UTF-8
			// cleanup (strings.ToValidUTF8) makes of it.
			for w < len(v)-i {
				if r2, n2 := utf8.DecodeRuneInString(v[i+w:]); r2 != utf8.RuneError || n2 != 1 {
					break
				}
				w++
			}
			b.WriteString(`(?:\x{FFFD}|`)
			for j := range w {
				b.WriteString("(?:" + strings.Join(runeForms(utf8.RuneError, v[i+j:i+j+1]), "|") + ")")
			}
			b.WriteString(")")
			total += 16 * w
			continue
		}
		b.WriteString("(?:")
		b.WriteString(strings.Join(runeForms(r, v[i:i+n]), "|"))
		b.WriteString(")")
		total += max(6*n, 16)
	}
	return b.String(), total
}

// runeForms are the alternatives for one character; raw is its bytes (one
// byte that is not UTF-8 when r is utf8.RuneError).
func runeForms(r rune, raw string) []string {
	invalid := r == utf8.RuneError && len(raw) == 1
	var alts []string
	// As it is, or after a backslash (printf %q, double quotes). An
	// invalid byte matches as U+FFFD, which is also what a UTF-8 cleanup
	// (JSON, strings.ToValidUTF8) turns it into.
	if invalid {
		alts = append(alts, `\\?\x{FFFD}`, `\\[uU](?i:fffd)`)
	} else {
		alts = append(alts, `\\?`+regexp.QuoteMeta(raw))
	}
	// Byte by byte: octal and hex escapes ($'\303\251', printf, C),
	// percent-encoding, JSON's \u00XX (for ASCII: Latin-1 readers too).
	var seq strings.Builder
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		fmt.Fprintf(&seq, `(?:\\%03o|\\x%s|%%%s|\\u00%s)`, c, hexCI(c), hexCI(c), hexCI(c))
	}
	alts = append(alts, seq.String())
	if !invalid {
		// Whole code point: JSON and JavaScript \uXXXX (a surrogate
		// pair beyond the BMP), \UXXXXXXXX, HTML numeric references.
		if r <= 0xFFFF {
			alts = append(alts, `\\u`+hexCI4(r))
		} else {
			r1, r2 := surrogates(r)
			alts = append(alts, `\\u`+hexCI4(r1)+`\\u`+hexCI4(r2), fmt.Sprintf(`\\U0{0,4}%s`, hexCIs(fmt.Sprintf("%x", r))))
		}
		alts = append(alts, fmt.Sprintf(`&#0{0,3}%d;`, r), fmt.Sprintf(`&#[xX]0{0,3}%s;`, hexCIs(fmt.Sprintf("%x", r))))
	}
	switch r {
	case ' ':
		alts = append(alts, `\+`) // form encoding
	case '\'':
		// 'it'\''s' (bash -x, zsh, printf %q in some shells), with or
		// without the surrounding quotes; 'it'"'"'s'; $'it\'s' and it\'s
		// (the backslash form above); HTML.
		alts = append(alts, `'?\\''?`, `'?"'"'?`, `&apos;`)
	case '"':
		alts = append(alts, `&quot;`)
	case '&':
		alts = append(alts, `&amp;`)
	case '<':
		alts = append(alts, `&lt;`)
	case '>':
		alts = append(alts, `&gt;`)
	case '\a':
		alts = append(alts, `\\a`)
	case '\b':
		alts = append(alts, `\\b`)
	case '\t':
		alts = append(alts, `\\t`)
	case '\n':
		alts = append(alts, `\\n`)
	case '\v':
		alts = append(alts, `\\v`)
	case '\f':
		alts = append(alts, `\\f`)
	case '\r':
		alts = append(alts, `\\r`)
	case 0x1b:
		alts = append(alts, `\\[eE]`)
	}
	return alts
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

// hexCI matches byte c as two hex digits of either case.
func hexCI(c byte) string { return hexCIs(fmt.Sprintf("%02x", c)) }

func hexCI4(r rune) string { return hexCIs(fmt.Sprintf("%04x", r)) }

func hexCIs(h string) string {
	var b strings.Builder
	for _, d := range h {
		if d >= 'a' && d <= 'f' {
			fmt.Fprintf(&b, "[%c%c]", d, d-'a'+'A')
		} else {
			b.WriteRune(d)
		}
	}
	return b.String()
}
