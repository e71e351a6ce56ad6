package identity

import (
	"strings"
	"testing"
)

func TestCanonicalSamePerson(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"A.Meier", "a.meier"},
		{" a.meier\t", "a.meier"},
		{"ａ.ｍｅｉｅｒ", "a.meier"}, // full width (NFKC)
		{"B.SCHULZ", "b.schulz"},
		{"Straße", "strasse"}, // case folding, not lower-casing
		{"аеор", "aeop"},      // wholly Cyrillic look-alikes map to Latin
		{"c.yılmaz", "c.yılmaz"},
		{"Anna  Meier", "anna\u00a0meier"}, // space runs and no-break space
	} {
		if !Same(c.a, c.b) {
			ka, ea := Canonical(c.a)
			kb, eb := Canonical(c.b)
			t.Errorf("Same(%q, %q) = false; keys %q (%v), %q (%v)", c.a, c.b, ka, ea, kb, eb)
		}
	}
}

func TestCanonicalRefusesLookAlikes(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"\u0430.meier", "mixes Cyrillic and Latin"}, // Cyrillic а + Latin
		{"b.sch\u03bdlz", "mixes Latin and Greek"},   // Greek ν
		{"a.me\u200bier", "invisible character"},     // zero-width space
		{"a.meier\u202e", "invisible character"},     // right-to-left override
		{"  ", "is empty"},
	} {
		_, err := Canonical(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Canonical(%q) error = %v, want %q", c.in, err, c.want)
		}
		if Same(c.in, "a.meier") || Index([]string{"a.meier", "b.schulz"}, c.in) >= 0 {
			t.Errorf("%q matched a listed identity", c.in)
		}
	}
	if Same("a.meier", "b.meier") {
		t.Error("different people are the same")
	}
}
