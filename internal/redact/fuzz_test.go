package redact

import (
	"strings"
	"testing"
)

// FuzzEveryFormRedacted: for any value a worker accepts (no NUL, at least
// MinLen bytes), each encoded form written between other text is gone and
// the text around it is kept.
func FuzzEveryFormRedacted(f *testing.F) {
	for _, s := range []string{secret, "abcd", "''''", `\\\\`, "%%%%", "++  ", "\xff\xfe\xfd\xfc", "é\U0001F600'x", "(?:|)*", "\x1b[0m\n\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if len(v) < MinLen || len(v) > 200 || strings.ContainsRune(v, 0) {
			return
		}
		r, err := New(v)
		if err != nil {
			t.Fatal(err)
		}
		for name, form := range encodedForms(v) {
			got := r.String("<<" + form + ">>")
			if strings.Contains(got, form) || !strings.Contains(got, Marker) {
				t.Fatalf("%s form %q of %q became %q", name, form, v, got)
			}
			if len(form) > r.MaxForm() {
				t.Fatalf("%s form of %q is %d bytes, MaxForm %d", name, v, len(form), r.MaxForm())
			}
		}
	})
}
