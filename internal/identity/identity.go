package identity

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/precis"
)

// Bounds of a name. MaxBytes holds after normalisation; MaxRawBytes is
// what is read at all, so a huge name costs nothing to refuse.
const (
	MaxBytes    = 64
	MaxRawBytes = 256
	// PrefixBytes bounds the part of refused input quoted in a reason.
	PrefixBytes = 64
)

var profile = precis.UsernameCaseMapped

// Canonical returns the key of a typed identity: surrounding white space
// trimmed, each space-separated part enforced by PRECIS UsernameCaseMapped
// (width-mapped, lower-cased, NFC; RFC 8265 §3.3 allows a name of several
// parts joined by spaces) and joined by one space. It refuses an empty
// name, a name over MaxBytes and any code point the profile disallows,
// with a reason a person can act on.
func Canonical(s string) (string, error) {
	if len(s) > MaxRawBytes {
		return "", fmt.Errorf("identity %s is %d bytes long; names are at most %d bytes", Quote(s), len(s), MaxBytes)
	}
	parts := strings.FieldsFunc(s, unicode.IsSpace)
	if len(parts) == 0 {
		return "", fmt.Errorf("identity %q is empty", s)
	}
	for i, p := range parts {
		k, err := profile.String(p)
		if err != nil {
			return "", fmt.Errorf("identity %s is not a valid user name (PRECIS UsernameCaseMapped, RFC 8265): %s", Quote(s), why(p, err))
		}
		parts[i] = k
	}
	key := strings.Join(parts, " ")
	if len(key) > MaxBytes {
		return "", fmt.Errorf("identity %s is %d bytes long once normalised; names are at most %d bytes", Quote(s), len(key), MaxBytes)
	}
	return key, nil
}

// why names the code point the profile refused, or passes its reason on
// (a rule over the whole name, such as the bidi rule).
func why(part string, err error) string {
	for _, r := range part {
		if unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
			unicode.Is(unicode.Variation_Selector, r) || unicode.IsControl(r) {
			return fmt.Sprintf("it contains the invisible character %U; write the name without it", r)
		}
		if _, e := profile.String(string(r)); e != nil {
			return fmt.Sprintf("it contains %U, which user names may not contain; write the name without it", r)
		}
	}
	return err.Error()
}

// Skeleton is the UTS #39 skeleton of a name's key: two names with one
// skeleton look alike. It is for comparing only, never for display.
func Skeleton(key string) string { return confusables.Skeleton(key) }

// Same reports whether a and b are one identity: equal keys. Names that
// cannot be made canonical are never the same as anything.
func Same(a, b string) bool {
	ka, err := Canonical(a)
	if err != nil {
		return false
	}
	kb, err := Canonical(b)
	return err == nil && ka == kb
}

// LookAlike reports whether a and b are one identity or look alike (equal
// UTS #39 skeletons). A name that cannot be made canonical looks like
// nothing; such names are refused before they are compared.
func LookAlike(a, b string) bool {
	ka, err := Canonical(a)
	if err != nil {
		return false
	}
	kb, err := Canonical(b)
	return err == nil && (ka == kb || Skeleton(ka) == Skeleton(kb))
}

// Index returns the position of who in list by identity, or -1.
func Index(list []string, who string) int {
	for i, l := range list {
		if Same(l, who) {
			return i
		}
	}
	return -1
}

// Quote quotes at most PrefixBytes of s (cut on a rune boundary) and says
// how long s was when it was cut, so a reason never carries unbounded
// input.
func Quote(s string) string {
	p, cut := Prefix(s, PrefixBytes)
	if !cut {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d bytes)", p, len(s))
}

// Prefix returns at most n bytes of s, cut on a rune boundary, and
// whether it cut anything.
func Prefix(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}
