package scrub

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/secretgate/secretgate/scanner/known"
)

// The forms a tool prints a secret in, one class each, written by the
// encoders those tools use where Go has them and by hand after their
// published behaviour where it does not.

func everyByte(v, format string) string {
	var b strings.Builder
	for i := range len(v) {
		fmt.Fprintf(&b, format, v[i])
	}
	return b.String()
}

// encodeURIComponent escapes as JavaScript's function and .NET's
// Uri.EscapeDataString do: all but letters, digits and -_.!~*'().
func encodeURIComponent(v string) string {
	var b strings.Builder
	for i := range len(v) {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// lowerHex lowers the hex digits of percent escapes.
func lowerHex(s string) string {
	return regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(s, strings.ToLower)
}

// wrap breaks s into lines of width, ending each with eol.
func wrap(s string, width int, eol string) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + eol)
		s = s[width:]
	}
	return b.String() + s + eol
}

func jsonHTMLSafe(v string) string {
	b, _ := json.Marshal(v) // Go's default: <, > and & as \u003c \u003e \u0026
	return string(b[1 : len(b)-1])
}

// colour puts a terminal colour sequence around every third byte.
func colour(v string) string {
	var b strings.Builder
	for i := range len(v) {
		if i%3 == 1 {
			fmt.Fprintf(&b, "\x1b[9%dm%c\x1b[0m", i%8, v[i])
		} else {
			b.WriteByte(v[i])
		}
	}
	return b.String()
}

// ansi matches what the check below may leave of a masked stretch:
// terminal sequences, line breaks and base64 padding, never a bit of the
// secret.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]|\x1b\\][^\x07]*\x07|[\r\n\t =]")

func TestEveryFormIsMasked(t *testing.T) {
	const v = `Tk9-sp3c!al<&>"q'u0te 100%/x+y=z`
	long := strings.Repeat("0123456789-abcdefghij", 5) // long enough to wrap when base64 encoded
	pem := "-----BEGIN TEST KEY-----\n" + strings.Repeat("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2\n", 3) + "AB==\n-----END TEST KEY-----\n"
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		class, secret, printed string
		keep                   int // characters that hold no bit of the secret
	}{
		{"raw", v, v, 0},
		{"base64 of the value less its first byte", v, b64([]byte(v[1:])), 0},
		{"base64 of the value less its first two bytes", v, b64([]byte(v[2:])), 0},
		{"unpadded base64 less one byte", v, base64.RawStdEncoding.EncodeToString([]byte(v[1:])), 0},
		{"URL-safe base64 less two bytes", v, base64.URLEncoding.EncodeToString([]byte(v[2:])), 0},
		{"colour inside", v, colour(v), 0},
		{"colour around parts", "secret&secret&secret", "secret&secret&\x1b[96msecret\x1b[0m", 0},
		{"grep --color", v, v[:5] + "\x1b[01;31m\x1b[K" + v[5:12] + "\x1b[m\x1b[K" + v[12:], 0},
		{"a terminal link inside", v, v[:4] + "\x1b]8;;https://example.test\x07" + v[4:] + "\x1b]8;;\x07", 0},
		{"HTML escape (&#39; &#34;)", v, html.EscapeString(v), 0},
		{"XML named entities", v, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(v), 0},
		{"named entities in capitals", v, strings.NewReplacer("&", "&AMP;", "<", "&LT;", ">", "&GT;", `"`, "&QUOT;", "'", "&#39;").Replace(v), 0},
		{"decimal entities", v, everyByte(v, "&#%d;"), 0},
		{"hex entities", v, everyByte(v, "&#x%x;"), 0},
		{"hex entities in capitals", v, everyByte(v, "&#X%X;"), 0},
		{"quotes doubled ('')", v, strings.ReplaceAll(v, "'", "''"), 0},
		{`quotes doubled ("")`, v, strings.ReplaceAll(v, `"`, `""`), 0},
		{"without its own quotes", `"quoted-s3cret-value"`, "quoted-s3cret-value", 0},
		{"query escape", v, url.QueryEscape(v), 0},
		{"query escape, lower-case hex", v, lowerHex(url.QueryEscape(v)), 0},
		{"path escape", v, url.PathEscape(v), 0},
		{"encodeURIComponent", v, encodeURIComponent(v), 0},
		{"encodeURIComponent, lower-case hex", v, lowerHex(encodeURIComponent(v)), 0},
		{"every byte percent-escaped", v, everyByte(v, "%%%02x"), 0},
		{"JSON, HTML-safe (Go)", v, jsonHTMLSafe(v), 0},
		{`JSON with \/`, v, strings.ReplaceAll(jsonHTMLSafe(v), "/", `\/`), 0},
		{`JSON \u for every byte`, v, everyByte(v, `\u%04x`), 0},
		{`JSON \u in capitals`, v, everyByte(v, `\u%04X`), 0},
		{"base64 wrapped at 76, LF", long, wrap(b64([]byte(long+"\n")), 76, "\n"), 0},
		{"base64 wrapped at 76, CRLF", long, wrap(b64([]byte(long+"\n")), 76, "\r\n"), 0},
		{"base64 wrapped at 64, LF", long, wrap(b64([]byte(long)), 64, "\n"), 0},
		{"base64 wrapped at 64, CRLF", long, wrap(b64([]byte(long)), 64, "\r\n"), 0},
		// "password: " before the value and "\n" after it: 14 and 2
		// characters of base64 that are theirs alone.
		{"base64 of a longer text, wrapped at 76", long, wrap(b64([]byte("password: "+long+"\n")), 76, "\n"), 16},
		{"a key with \\r\\r\\n line ends", pem, strings.ReplaceAll(pem, "\n", "\r\r\n"), 0},
		{"a key with mixed whitespace", pem, strings.ReplaceAll(pem, "\n", " \n\t"), 0},
		{"a key indented", pem, strings.ReplaceAll(pem, "\n", "\n      "), 0},
	}
	for _, c := range cases {
		m := matcher(c.secret)
		input := []byte("<<" + c.printed + ">>\n")
		for _, sizes := range [][]int{nil, {1}} {
			out := scrubChunked(t, m, input, sizes)
			got := string(out)
			if !strings.HasPrefix(got, "<<") || !strings.HasSuffix(got, ">>\n") || !strings.Contains(got, DefaultMask) {
				t.Errorf("%s, writes of %v: %q became %q", c.class, sizes, input, got)
				continue
			}
			left := ansi.ReplaceAllString(strings.ReplaceAll(got[2:len(got)-3], DefaultMask, ""), "")
			if len(left) > c.keep {
				t.Errorf("%s, writes of %v: %q left %q readable (output %q)", c.class, sizes, c.printed, left, got)
			}
		}
	}
}

// TestFormsInStreamsOfLogs: each class among ordinary log lines keeps the
// lines around it intact.
func TestFormsInStreamsOfLogs(t *testing.T) {
	const v = "s3cr3t/Value+with&more"
	m := matcher(v)
	in := "line one 100% done\n" + "token=" + url.QueryEscape(v) + " ok\n" + "C:\\temp\\new &amp; \x1b[32mgreen\x1b[0m\n"
	want := "line one 100% done\n" + "token=*** ok\n" + "C:\\temp\\new &amp; \x1b[32mgreen\x1b[0m\n"
	for _, sizes := range [][]int{nil, {1}, {3, 7}} {
		if got := string(scrubChunked(t, m, []byte(in), sizes)); got != want {
			t.Errorf("writes of %v: %q, want %q", sizes, got, want)
		}
	}
	if !bytes.Equal(reference(m, []byte(in), DefaultMask), []byte(want)) {
		t.Errorf("the whole-buffer reference disagrees")
	}
}

// FuzzEveryForm prints a random secret in each class of
// TestEveryFormIsMasked, between ordinary text, writes it in random chunks,
// and checks that nothing of the secret is left readable.
func FuzzEveryForm(f *testing.F) {
	f.Add("Tk9-sp3c!al<&>\"q'u0te", uint8(5), []byte{1})
	f.Add("line one\nline two\nend", uint8(30), []byte{3, 1})
	f.Fuzz(func(t *testing.T, v string, class uint8, cuts []byte) {
		if len(v) < 8 || len(v) > 80 || !utf8.ValidString(v) || strings.ContainsAny(v, "*#\x1b\r") || strings.TrimSpace(v) != v {
			return
		}
		b64 := base64.StdEncoding.EncodeToString
		printers := []func(string) string{
			func(v string) string { return v },
			func(v string) string { return b64([]byte(v[1:])) },
			func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v[2:])) },
			colour,
			html.EscapeString,
			func(v string) string { return everyByte(v, "&#%d;") },
			func(v string) string { return everyByte(v, "&#X%X;") },
			func(v string) string { return strings.ReplaceAll(v, "'", "''") },
			func(v string) string { return strings.ReplaceAll(v, `"`, `""`) },
			func(v string) string { return lowerHex(url.QueryEscape(v)) },
			url.PathEscape,
			encodeURIComponent,
			func(v string) string { return everyByte(v, "%%%02x") },
			jsonHTMLSafe,
			func(v string) string { return everyByte(v, `\u%04x`) },
			func(v string) string { return wrap(b64([]byte(v+"\n")), 76, "\n") },
			func(v string) string { return wrap(b64([]byte(v)), 64, "\r\n") },
		}
		printed := printers[int(class)%len(printers)](v)
		if strings.Contains(v, "\n") {
			// A multi-line value: its lines with other whitespace between.
			printed = strings.ReplaceAll(v, "\n", " \r\n\t")
		}
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		got := string(scrubChunked(t, matcher(v), []byte("a #"+printed+"# b\n"), sizes))
		inner, ok := strings.CutPrefix(got, "a #")
		if !ok || !strings.HasSuffix(inner, "# b\n") {
			t.Fatalf("the text around the secret changed: %q", got)
		}
		inner = strings.TrimSuffix(inner, "# b\n")
		if left := ansi.ReplaceAllString(strings.ReplaceAll(inner, DefaultMask, ""), ""); left != "" {
			t.Fatalf("class %d: %q became %q", int(class)%len(printers), printed, inner)
		}
		m := matcher(v)
		m.FindAll([]byte(got), func(x known.Match) {
			t.Fatalf("class %d: output %q still holds form %q", int(class)%len(printers), got, m.Forms()[x.Form].Text)
		})
	})
}
