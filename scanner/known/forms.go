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
	"strconv"
	"strings"
)

// Secret is a value to look for, and the name findings report it by.
type Secret struct {
	Name  string
	Value string
}

// Form is one way a secret can appear.
type Form struct {
	Secret   int    // index into the secrets the forms were made from
	Encoding string // "" for the raw value
	Text     []byte
}

// Forms derives the forms of each secret: the raw value; each trimmed line
// of a multi-line value; base64 (standard and URL-safe) of the value alone,
// after a newline, and inside a longer text (one or two leading bytes of
// that text dropped, the characters they or the following text change
// trimmed); hex; URL query and path escaping; JSON, XML, shell single-quote
// and Go %q escaping; and a multi-line value with its line breaks as spaces
// or CRLF. Forms shorter than minLen (and empty ones, whatever minLen) are
// dropped; short reports the indexes of secrets whose raw value was, so
// that callers can warn by name.
func Forms(secrets []Secret, minLen int) (forms []Form, short []int) {
	minLen = max(minLen, 1)
	for i, s := range secrets {
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
		if strings.ContainsAny(v, "\r\n") {
			lines := strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' })
			for _, l := range lines {
				add("line", strings.TrimSpace(l))
			}
			joined := strings.Join(lines, "\n")
			add("multiline", strings.Join(lines, " "))
			add("multiline", strings.Join(lines, "\r\n"))
			add("multiline", strings.ReplaceAll(joined, "\n", `\n`))
		}
		for _, e := range []struct {
			name string
			enc  *base64.Encoding
		}{{"base64", base64.StdEncoding}, {"base64url", base64.URLEncoding}} {
			add(e.name, e.enc.EncodeToString([]byte(v)))
			add(e.name+"-newline", e.enc.EncodeToString([]byte(v+"\n")))
			for lead := 0; lead <= 2; lead++ {
				add(e.name, embeddedBase64(e.enc, v, lead))
			}
		}
		add("hex", hex.EncodeToString([]byte(v)))
		add("hex", strings.ToUpper(hex.EncodeToString([]byte(v))))
		add("url", url.QueryEscape(v))
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
