package identity

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// scripts are the writing systems an identity's letters are checked
// against; letters of none of them count as their own script "other".
var scripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Armenian", unicode.Armenian}, {"Cherokee", unicode.Cherokee}, {"Arabic", unicode.Arabic},
	{"Hebrew", unicode.Hebrew}, {"Han", unicode.Han}, {"Hiragana", unicode.Hiragana},
	{"Katakana", unicode.Katakana}, {"Hangul", unicode.Hangul},
}

// confusables maps the Cyrillic and Greek letters (after case folding)
// that look like Latin ones to those, so a name written wholly in
// look-alikes ("аеор" in Cyrillic) has the same key as its Latin twin.
var confusablesV1 = strings.NewReplacer(
	"а", "a", "в", "b", "е", "e", "ё", "e", "һ", "h", "і", "i", "ї", "i", "ј", "j", "к", "k",
	"м", "m", "н", "h", "о", "o", "р", "p", "с", "c", "т", "t", "у", "y", "х", "x", "ѕ", "s",
	"ԁ", "d", "ԛ", "q", "ԝ", "w", "ү", "y", "ӏ", "l",
	"α", "a", "β", "b", "ε", "e", "η", "n", "ι", "i", "κ", "k", "ν", "v", "ο", "o", "ρ", "p",
	"τ", "t", "υ", "u", "χ", "x", "γ", "y",
)

var fold = cases.Fold()

// CanonicalV1 returns the key of a typed identity under the rules moves
// recorded at decision-rules version 1 ran with; it is kept only so
// those histories replay as they ran. New runs use Canonical (RFC 8265).
//
// It returns the key: trimmed, NFKC-normalized,
// case-folded, runs of spaces made one, look-alike letters mapped to
// Latin. It refuses an empty name, control and invisible format
// characters (zero-width space, bidi controls), and letters from more
// than one script, with a reason a person can act on.
func CanonicalV1(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fmt.Errorf("identity %q is empty", s)
	}
	// NFKC, fold, NFKC again: folding can denormalize (Unicode's NFKC_Casefold).
	// Runs of spaces become one ("Anna  Meier" is "anna meier").
	k := strings.Join(strings.Fields(norm.NFKC.String(fold.String(norm.NFKC.String(t)))), " ")
	seen := ""
	for _, r := range k {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", fmt.Errorf("identity %q contains the invisible character %U; write the name without it", s, r)
		}
		if !unicode.IsLetter(r) {
			continue
		}
		sc := scriptOf(r)
		if seen != "" && sc != seen {
			return "", fmt.Errorf("identity %q mixes %s and %s letters (look-alikes such as Cyrillic а and Latin a); write it in one script", s, seen, sc)
		}
		seen = sc
	}
	return confusablesV1.Replace(k), nil
}

func scriptOf(r rune) string {
	for _, s := range scripts {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return "other"
}

// SameV1 is Same under the version 1 rules (CanonicalV1).
func SameV1(a, b string) bool {
	ka, err := CanonicalV1(a)
	if err != nil {
		return false
	}
	kb, err := CanonicalV1(b)
	return err == nil && ka == kb
}

// IndexV1 is Index under the version 1 rules (CanonicalV1).
func IndexV1(list []string, who string) int {
	for i, l := range list {
		if SameV1(l, who) {
			return i
		}
	}
	return -1
}
