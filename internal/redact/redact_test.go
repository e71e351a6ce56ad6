package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// secret has a quote, a double quote, spaces, a UTF-8 character, a byte
// that is not UTF-8, a dollar sign and a tab.
const secret = "pa ss'wo\"rd-\u00e9\xe9$x\ttail"

func mustNew(t *testing.T, vals ...string) *Redactor {
	t.Helper()
	r, err := New(vals...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Forms written by hand or by Go's encoders, one per row.
func encodedForms(v string) map[string]string {
	jsonHTML, _ := json.Marshal(v)
	var noHTML strings.Builder
	enc := json.NewEncoder(&noHTML)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return map[string]string{
		"raw":                     v,
		"single-quoted":           "'" + strings.ReplaceAll(v, "'", `'\''`) + "'",
		"single-quoted dash":      "'" + strings.ReplaceAll(v, "'", `'"'"'`) + "'",
		"double-quoted":           `"` + regexp.MustCompile("([\"\\\\$`])").ReplaceAllString(v, `\$1`) + `"`,
		"backslash every punct":   regexp.MustCompile(`([^A-Za-z0-9])`).ReplaceAllString(v, `\$1`),
		"ansi-c octal":            "$'" + ansiC(v, false) + "'",
		"ansi-c hex":              "$'" + ansiC(v, true) + "'",
		"go %q":                   strconv.Quote(v),
		"go %+q":                  strconv.QuoteToASCII(v),
		"json":                    string(jsonHTML),
		"json no html escape":     strings.TrimSpace(noHTML.String()),
		"json ensure_ascii":       jsonASCII(v, false),
		"json ensure_ascii HEX":   jsonASCII(v, true),
		"url query (+)":           url.QueryEscape(v),
		"url path (%20)":          url.PathEscape(v),
		"url query lower hex":     lowerPercent(url.QueryEscape(v)),
		"url every byte":          everyByte(v, "%%%02X"),
		"url every byte lower":    everyByte(v, "%%%02x"),
		"c hex escapes":           everyByte(v, `\x%02x`),
		"html":                    html.EscapeString(v),
		"hex":                     hex.EncodeToString([]byte(v)),
		"HEX":                     strings.ToUpper(hex.EncodeToString([]byte(v))),
		"base64 std":              base64.StdEncoding.EncodeToString([]byte(v)),
		"base64 std raw":          base64.RawStdEncoding.EncodeToString([]byte(v)),
		"base64 url":              base64.URLEncoding.EncodeToString([]byte(v)),
		"base64 url raw":          base64.RawURLEncoding.EncodeToString([]byte(v)),
		"utf-8 cleaned":           strings.ToValidUTF8(v, "\uFFFD"),
		"utf-8 cleaned then json": string(must(json.Marshal(strings.ToValidUTF8(v, "\uFFFD")))),
	}
}

func must[T any](v T, _ error) T { return v }

// ansiC writes v as bash's $'...' body in the C locale.
func ansiC(v string, hexEsc bool) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			if hexEsc {
				fmt.Fprintf(&b, `\x%02X`, c)
			} else {
				fmt.Fprintf(&b, `\%03o`, c)
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// jsonASCII is JSON with every non-ASCII character as \uXXXX (Python's
// default), an invalid byte as \ufffd.
func jsonASCII(v string, upper bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= 0x7f:
			u := fmt.Sprintf(`\u%04x`, r)
			if r > 0xFFFF {
				r1, r2 := surrogates(r)
				u = fmt.Sprintf(`\u%04x\u%04x`, r1, r2)
			}
			if upper {
				u = strings.ToUpper(u[:2]) + strings.ToUpper(u[2:])
				u = strings.ReplaceAll(u, `\U`, `\u`)
			}
			b.WriteString(u)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func lowerPercent(s string) string {
	return regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(s, strings.ToLower)
}

func everyByte(v, format string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		fmt.Fprintf(&b, format, v[i])
	}
	return b.String()
}

// assertGone: no form, and no part of the value of MinLen bytes or more
// (as it is or UTF-8 cleaned), is left in got.
func assertGone(t *testing.T, what, got string, forms map[string]string) {
	t.Helper()
	for name, f := range forms {
		if strings.Contains(got, f) {
			t.Errorf("%s: the %s form survives: %q", what, name, got)
		}
	}
}

func TestEveryFormRedacted(t *testing.T) {
	for _, v := range []string{secret, "emoji \U0001F600 and <&> 'q'", "\nline\r\x1bend\x7f"} {
		r := mustNew(t, v)
		forms := encodedForms(v)
		for name, f := range forms {
			got := r.String("before " + f + " after")
			if !strings.HasPrefix(got, "before ") || !strings.HasSuffix(got, " after") || !strings.Contains(got, Marker) {
				t.Errorf("%q %s: %q", v, name, got)
			}
			assertGone(t, name, got, forms)
		}
	}
}

// Real shells: bash -x and printf %q in the C and a UTF-8 locale.
func TestShellOutputRedacted(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	r := mustNew(t, secret)
	for _, locale := range []string{"C", "C.UTF-8"} {
		for _, script := range []string{`set -x; : "pw=$S"`, `printf '%q\n' "$S"`, `printf 'x=%q\n' "a${S}b"`, `set -x; : "$S"`} {
			cmd := exec.Command(bash, "-c", script)
			cmd.Env = append(os.Environ(), "S="+secret, "LC_ALL="+locale)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v %s", script, err, out)
			}
			got := r.String(string(out))
			if !strings.Contains(got, Marker) || strings.Contains(got, "wo") || strings.Contains(got, "tail") {
				t.Errorf("%s %s: %q became %q", locale, script, out, got)
			}
		}
	}
}

// A value inside a longer base64 or hex stream, at each byte offset.
func TestEmbeddedEncodedValue(t *testing.T) {
	r := mustNew(t, secret)
	for off := range 3 {
		data := []byte(strings.Repeat("Z", off) + secret + "trailing bytes")
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			s := enc.EncodeToString(data)
			got := r.String("data: " + s)
			core := base64Core(enc, secret, off)
			if len(core) < 20 || !strings.Contains(s, core) || strings.Contains(got, core) || !strings.Contains(got, Marker) {
				t.Errorf("offset %d: %q became %q (core %q)", off, s, got, core)
			}
			// What is left holds at most 4 bits of the value at each end:
			// fewer characters than 2 of the value's around the marker.
			pre, post, _ := strings.Cut(strings.TrimPrefix(got, "data: "), Marker)
			if len(pre) > (off*8+5)/6+1 {
				t.Errorf("offset %d: %d characters before the marker: %q", off, len(pre), got)
			}
			_ = post
		}
		h := hex.EncodeToString(data)
		if got := r.String(strings.ToUpper(h)); strings.Contains(strings.ToLower(got), hex.EncodeToString([]byte(secret))) {
			t.Errorf("hex offset %d: %q", off, got)
		}
	}
}

func TestUnrelatedTextKept(t *testing.T) {
	r := mustNew(t, secret, "another-secret")
	text := "pa ss wo rd é $x tail another secret 70612073 cGEgc3M= %27 \\x41 &amp; it's\n"
	if got := r.String(text); got != text {
		t.Fatalf("%q became %q", text, got)
	}
}

// Copies of a value next to each other, or of two values that share a
// part, leave nothing of either.
func TestAdjacentAndSharedMatches(t *testing.T) {
	r := mustNew(t, "abcabc", "cabcXY")
	for in, want := range map[string]string{
		"xabcabcabcabcx": "x" + Marker + Marker + "x",
		"abcabcXY!":      Marker + "XY!", // the longest match at the leftmost start
		"ab cabcXY":      "ab " + Marker,
	} {
		if got := r.String(in); got != want {
			t.Errorf("%q became %q, want %q", in, got, want)
		}
	}
}

// A repetitive value in repetitive output costs linear time.
func TestRepetitiveValueStaysFast(t *testing.T) {
	r := mustNew(t, strings.Repeat("k", maxEscapedLen))
	start := time.Now()
	out, _ := r.Tail(strings.Repeat("k", 4096+r.MaxForm()))
	if strings.Contains(out, "kkkk") || time.Since(start) > 30*time.Second {
		t.Fatalf("%.60q after %v", out, time.Since(start))
	}
	t.Logf("%v", time.Since(start))
}

// A chunk read from a stream's end may begin inside a form: Tail drops
// what could be its end and keeps the rest redacted.
func TestTailDropsACutForm(t *testing.T) {
	r := mustNew(t, secret)
	forms := encodedForms(secret)
	for name, f := range forms {
		for _, cut := range []int{1, len(f) / 2, len(f) - 2} {
			chunk := f[cut:] + strings.Repeat(" ", r.MaxForm()) + "mid " + f + " end"
			got, dropped := r.Tail(chunk)
			if dropped != r.MaxForm()-1 || !strings.HasSuffix(got, r.String("mid "+f+" end")) || !strings.Contains(got, Marker) {
				t.Errorf("%s cut at %d: %q dropped %d", name, cut, got, dropped)
			}
			if tail := f[cut:]; len(tail) >= MinLen && strings.Contains(got, tail) {
				t.Errorf("%s cut at %d: the cut form's end survives", name, cut)
			}
		}
	}
	// A match reaching past the dropped bytes still shows as the marker.
	got, _ := r.Tail(strings.Repeat(".", r.MaxForm()-3) + secret + " end")
	if got != Marker+" end" {
		t.Fatalf("%q", got)
	}
}

func TestShortAndEmptyValues(t *testing.T) {
	r := mustNew(t, "", "abc")
	if !r.HasShort() || r.String("abc about") != "abc about" {
		t.Fatal("a 3-byte value is short, and not matched")
	}
	if mustNew(t, "", "abcd").HasShort() {
		t.Fatal("4 bytes are enough")
	}
	if r := mustNew(t, ""); r.String("text") != "text" {
		t.Fatal("an empty value redacts nothing")
	}
}

// A long value (a key file) is matched as it is, in hex and base64.
func TestLongValue(t *testing.T) {
	v := strings.Repeat("0123456789abcdef'", 200)
	r := mustNew(t, v)
	for _, f := range []string{v, hex.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte(v)),
		strings.ReplaceAll(v, "'", `'\''`)} {
		if got := r.String("<" + f + ">"); got != "<"+Marker+">" {
			t.Errorf("%.40q... became %.80q", f, got)
		}
	}
}

func TestTooLongValueRefused(t *testing.T) {
	start := time.Now()
	r := mustNew(t, strings.Repeat("k", MaxLen))
	if got := r.String("<" + strings.Repeat("k", MaxLen) + ">"); got != "<"+Marker+">" {
		t.Fatalf("%.40q", got)
	}
	t.Logf("a %d-byte value: %v", MaxLen, time.Since(start))
	if _, err := New("short-ok", strings.Repeat("k", MaxLen+1)); err == nil || strings.Contains(err.Error(), "kkkk") {
		t.Fatalf("%v", err)
	}
}

func TestMaxFormBoundsMatches(t *testing.T) {
	r := mustNew(t, secret, "emoji \U0001F600 x")
	for _, v := range []string{secret, "emoji \U0001F600 x"} {
		for name, f := range encodedForms(v) {
			if len(f) > r.MaxForm() {
				t.Errorf("%s form is %d bytes, over MaxForm %d", name, len(f), r.MaxForm())
			}
		}
	}
	if !utf8.ValidString(Marker) {
		t.Fatal("marker")
	}
}
