package identity

import (
	"strings"
	"testing"
)

func TestCanonicalSamePerson(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"A.Meier", "a.meier"},
		{" a.meier\t", "a.meier"},
		{"ａ.ｍｅｉｅｒ", "a.meier"}, // full width (PRECIS width mapping)
		{"B.SCHULZ", "b.schulz"},
		{"c.yılmaz", "c.yılmaz"},
		{"Anna  Meier", "anna\u00a0meier"}, // parts joined by one space
	} {
		if !Same(c.a, c.b) {
			ka, ea := Canonical(c.a)
			kb, eb := Canonical(c.b)
			t.Errorf("Same(%q, %q) = false; keys %q (%v), %q (%v)", c.a, c.b, ka, ea, kb, eb)
		}
	}
}

func TestCanonicalRefusesInvisibleAndLong(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a.me\u200bier", "invisible character U+200B"}, // zero-width space
		{"a.me\u00adier", "invisible character U+00AD"}, // soft hyphen
		{"a.meier\u202e", "invisible character U+202E"}, // right-to-left override
		{"a.meier\u2060", "invisible character U+2060"}, // word joiner
		{"  ", "is empty"},
		{strings.Repeat("a", 65), "at most 64 bytes"},
		{strings.Repeat("a", 1<<20), "1048576 bytes long"},
	} {
		_, err := Canonical(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Canonical(%.40q) error = %v, want %q", c.in, err, c.want)
			continue
		}
		if len(err.Error()) > 400 {
			t.Errorf("reason for a %d-byte name is %d bytes long", len(c.in), len(err.Error()))
		}
		if Same(c.in, "a.meier") || Index([]string{"a.meier", "b.schulz"}, c.in) >= 0 || LookAlike(c.in, "a.meier") {
			t.Errorf("%q matched a listed identity", c.in)
		}
	}
}

// Look-alikes are different identities (not on a list by the other's
// name) but one person where counting twice would help someone.
func TestLookAlike(t *testing.T) {
	for _, c := range [][2]string{
		{"a.meier", "\u0430.meier"},   // Cyrillic а
		{"b.schulz", "b.sch\u03c5lz"}, // Greek υ
		{"c.yilmaz", "c.yi1maz"},      // digit one
	} {
		if Same(c[0], c[1]) {
			t.Errorf("Same(%q, %q) = true, want distinct keys", c[0], c[1])
		}
		if !LookAlike(c[0], c[1]) {
			t.Errorf("LookAlike(%q, %q) = false", c[0], c[1])
		}
	}
	if LookAlike("a.meier", "b.meier") {
		t.Error("different people look alike")
	}
}

func TestQuoteIsBounded(t *testing.T) {
	q := Quote(strings.Repeat("ä", 1000))
	if len(q) > PrefixBytes*2+40 || !strings.HasSuffix(q, "(2000 bytes)") {
		t.Errorf("Quote = %s", q)
	}
	if Quote("a.meier") != `"a.meier"` {
		t.Errorf("Quote short = %s", Quote("a.meier"))
	}
}
