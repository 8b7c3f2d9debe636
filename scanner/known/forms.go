// Package known finds known secret values, in every form they are likely to
// take in a log or an artifact, in whole buffers and in streams cut
// anywhere.
package known

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Secret is a value to look for, and the name findings report it by.
type Secret struct {
	Name  string
	Value string
}

// EncodingDecoded is the form of a value that holds escapes, as the
// matcher's decoded view reads it.
const EncodingDecoded = "decoded"

// Form is one way a secret can appear.
type Form struct {
	Secret   int    // index into the secrets the forms were made from
	Encoding string // "" for the raw value
	Text     []byte
}

// Forms derives the forms of each secret: the raw value; each trimmed line
// of a multi-line value; the value without its own surrounding quotes, or
// with its quotes doubled; base64 (standard and URL-safe) of the value
// alone, after a newline, inside a longer text (one or two leading bytes of
// that text dropped, the characters they or the following text change
// trimmed), and with its own first one or two bytes dropped; hex; URL query
// and path escaping; JSON, XML, shell single-quote and Go %q escaping; a
// multi-line value with its line breaks as spaces or CRLF; and the value as
// the matcher's decoded view reads it, where that differs (escapes in the
// value, the lines of a multi-line one). Escapes that may apply to any
// byte (entities, percent and backslash escapes, terminal sequences,
// wrapped base64) are not enumerated: the matcher decodes them. Forms shorter than minLen (and empty ones, whatever minLen) are
// dropped; short reports the indexes of secrets whose raw value was, so
// that callers can warn by name.
//
// Secrets are shared out among the processors: each secret's forms are its
// own, and a thousand secrets take tens of milliseconds, part of the start
// of every scrub (issue 15).
func Forms(secrets []Secret, minLen int) (forms []Form, short []int) {
	minLen = max(minLen, 1)
	parts := min(runtime.GOMAXPROCS(0), len(secrets)/64+1)
	if parts == 1 {
		return formsOf(secrets, 0, minLen)
	}
	type part struct {
		forms []Form
		short []int
	}
	done := make([]part, parts)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := p*len(secrets)/parts, (p+1)*len(secrets)/parts
		wg.Go(func() {
			done[p].forms, done[p].short = formsOf(secrets[from:to], from, minLen)
		})
	}
	wg.Wait()
	for _, p := range done {
		forms = append(forms, p.forms...)
		short = append(short, p.short...)
	}
	return forms, short
}

// formsOf is Forms for secrets, the first of which has index first.
func formsOf(secrets []Secret, first, minLen int) (forms []Form, short []int) {
	for i, s := range secrets {
		i += first
		v := s.Value
		if len(v) < minLen {
			short = append(short, i)
		}
		seen := map[string]bool{}
		add := func(enc, text string) {
			if len(text) < minLen || seen[text] {
				return
			}
			seen[text] = true
			forms = append(forms, Form{Secret: i, Encoding: enc, Text: []byte(text)})
		}
		add("", v)
		multiline := strings.ContainsAny(v, "\r\n")
		if multiline {
			lines := strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' })
			for i, l := range lines {
				lines[i] = strings.TrimSpace(l)
				add("line", lines[i])
			}
			joined := strings.Join(lines, "\n")
			add("multiline", strings.Join(lines, " "))
			add("multiline", strings.Join(lines, "\r\n"))
			add("multiline", strings.ReplaceAll(joined, "\n", `\n`))
			// The lines as the decoded view reads them, whatever
			// whitespace stands between them.
			add("multiline", decoded(joined, true))
		}
		add(EncodingDecoded, decoded(v, multiline))
		// Printed without its own quotes, or with its quotes doubled.
		if len(v) > 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			add("unquoted", v[1:len(v)-1])
		}
		add("quotes-doubled", strings.ReplaceAll(v, "'", "''"))
		add("quotes-doubled", strings.ReplaceAll(v, `"`, `""`))
		for _, e := range []struct {
			name string
			enc  *base64.Encoding
		}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
			add(e.name, e.enc.EncodeToString([]byte(v)))
			add(e.name+"-newline", e.enc.EncodeToString([]byte(v+"\n")))
			for lead := 0; lead <= 2; lead++ {
				add(e.name, embeddedBase64(e.enc, v, lead))
			}
			// The value with its first one or two bytes dropped, encoded
			// alone (what a masker that knows only whole values prints of
			// one found at another alignment). Without its padding: the
			// '=' that may follow holds no bit of the value.
			for shift := 1; shift <= 2 && shift < len(v); shift++ {
				add(e.name, e.enc.WithPadding(base64.NoPadding).EncodeToString([]byte(v[shift:])))
			}
		}
		add("hex", hex.EncodeToString([]byte(v)))
		add("hex", strings.ToUpper(hex.EncodeToString([]byte(v))))
		add("url", url.QueryEscape(v))
		// A query escape as the decoded view reads it: spaces as '+'.
		add("url", strings.ReplaceAll(v, " ", "+"))
		add("url", url.PathEscape(v))
		add("json", jsonEscape(v))
		add("xml", xmlEscape(v))
		add("shell", strings.ReplaceAll(v, `'`, `'\''`))
		add("go-quoted", strings.Trim(strconv.Quote(v), `"`))
	}
	return forms, short
}

// embeddedBase64 returns the part of base64(X + v + Y) that depends on v
// alone, where X is lead bytes of other text: the first characters mix bits
// of X, the last ones bits of Y.
func embeddedBase64(enc *base64.Encoding, v string, lead int) string {
	b := make([]byte, lead+len(v))
	copy(b[lead:], v)
	s := enc.WithPadding(base64.NoPadding).EncodeToString(b)
	first := (8*lead + 5) / 6 // characters holding any bit of X
	last := 8 * (lead + len(v)) / 6
	if first >= last {
		return ""
	}
	return s[first:last]
}

// decoded returns v as the decoded view reads it (see decode), or "" if
// that is v itself.
func decoded(v string, collapse bool) string {
	var vw view
	decode(&vw, []byte(v), 0, false, collapse)
	if len(vw.spans) == 0 {
		return ""
	}
	return string(vw.text)
}

func jsonEscape(v string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a string always encodes
	return strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(b.String(), `"`), "\n"), `"`)
}

func xmlEscape(v string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(v)) // a bytes.Buffer never fails
	return b.String()
}
