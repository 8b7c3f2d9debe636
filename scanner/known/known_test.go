package known

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestFormsCoverEveryEncoding(t *testing.T) {
	v := "pa55 w0rd/with'odd&<chars>\"x"
	forms, short := Forms([]Secret{{"P", v}}, 6)
	if len(short) != 0 {
		t.Fatalf("Forms short = %v, want none", short)
	}
	has := map[string]bool{}
	for _, f := range forms {
		has[string(f.Text)] = true
	}
	for _, want := range []struct{ name, text string }{
		{"raw", v},
		{"base64", base64.StdEncoding.EncodeToString([]byte(v))},
		{"base64url", base64.URLEncoding.EncodeToString([]byte(v))},
		{"base64 with newline", base64.StdEncoding.EncodeToString([]byte(v + "\n"))},
		{"hex", hex.EncodeToString([]byte(v))},
		{"HEX", strings.ToUpper(hex.EncodeToString([]byte(v)))},
		{"query", url.QueryEscape(v)},
		{"path", url.PathEscape(v)},
		{"json", `pa55 w0rd/with'odd&<chars>\"x`},
		{"xml", "pa55 w0rd/with&#39;odd&amp;&lt;chars&gt;&#34;x"},
		{"shell", `pa55 w0rd/with'\''odd&<chars>"x`},
		{"go", `pa55 w0rd/with'odd&<chars>\"x`},
	} {
		if !has[want.text] {
			t.Errorf("Forms(%q) lacks the %s form %q", v, want.name, want.text)
		}
	}
}

func TestFormsFindValueInsideLongerBase64(t *testing.T) {
	v := "S3cr3t-Passw0rd"
	forms, _ := Forms([]Secret{{"P", v}}, 6)
	m := New([]Secret{{"P", v}}, forms)
	for _, prefix := range []string{"", "u", "us", "user:", "administrator:"} {
		for _, suffix := range []string{"", "@host", "\n", "xy"} {
			for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
				text := enc.EncodeToString([]byte(prefix + v + suffix))
				found := false
				m.FindAll([]byte(text), func(Match) { found = true })
				if !found {
					t.Errorf("no form of the value found in base64(%q+value+%q) = %q", prefix, suffix, text)
				}
			}
		}
	}
}

func TestFormsMultiline(t *testing.T) {
	v := "-----BEGIN TEST KEY-----\nAAAAbbbbCCCCdddd\nEEEEffff\n-----END TEST KEY-----\n"
	forms, _ := Forms([]Secret{{"K", v}}, 6)
	m := New([]Secret{{"K", v}}, forms)
	for _, text := range []string{
		"  AAAAbbbbCCCCdddd  ",
		strings.ReplaceAll(strings.TrimSpace(v), "\n", " "),
		strings.ReplaceAll(strings.TrimSpace(v), "\n", "\r\n"),
		strings.ReplaceAll(strings.TrimSpace(v), "\n", `\n`),
	} {
		found := false
		m.FindAll([]byte(text), func(Match) { found = true })
		if !found {
			t.Errorf("multi-line value not found in %q", text)
		}
	}
}

func TestFormsShort(t *testing.T) {
	forms, short := Forms([]Secret{{"A", "abc"}, {"B", "abcdefgh"}}, 6)
	if len(short) != 1 || short[0] != 0 {
		t.Errorf("Forms short = %v, want [0]", short)
	}
	for _, f := range forms {
		if len(f.Text) < 6 {
			t.Errorf("form %q shorter than the minimum", f.Text)
		}
	}
}

func TestMatcherOverlapsAndRepeats(t *testing.T) {
	tests := []struct {
		secrets []string
		input   string
		want    []string // the text of each run, united
	}{
		{[]string{"aaaaab"}, "xaaaaaaab", []string{"aaaaab"}},
		{[]string{"abcabcX"}, "abcabcabcX!", []string{"abcabcX"}},
		{[]string{"secret1", "cret1-more"}, "[secret1-more]", []string{"secret1-more"}},
		{[]string{"secret1"}, "secret1secret1", []string{"secret1secret1"}},
		{[]string{"long-secret-value-1234"}, "a long-secret-value-1234 b long-secret-value-1234", []string{"long-secret-value-1234", "long-secret-value-1234"}},
	}
	for _, tt := range tests {
		var secrets []Secret
		for _, s := range tt.secrets {
			secrets = append(secrets, Secret{s, s})
		}
		forms, _ := Forms(secrets, 6)
		m := New(secrets, forms)
		var ms []Match
		m.FindAll([]byte(tt.input), func(x Match) { ms = append(ms, x) })
		var got []string
		for _, r := range Unite(ms, true) {
			got = append(got, tt.input[r.Start:r.End])
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("runs of %q in %q = %q, want %q", tt.secrets, tt.input, got, tt.want)
		}
	}
}

func TestHold(t *testing.T) {
	v := "abcdefghij"
	forms, _ := Forms([]Secret{{"V", v}}, 6)
	m := New([]Secret{{"V", v}}, forms)
	for _, tt := range []struct {
		data string
		want int
	}{
		{"xxxx", 4},
		{"xxabc", 2},
		{"xxabcdefghi", 2},
		{"xxabcdefghij", 12}, // complete: nothing longer starts with it
		{"xxa", 2},
		{"", 0},
	} {
		if got := m.Hold([]byte(tt.data)); got != tt.want {
			t.Errorf("Hold(%q) = %d, want %d", tt.data, got, tt.want)
		}
	}
}

// naiveMatches is every occurrence of every form ok keeps, by plain search.
func naiveMatches(forms []Form, data []byte, ok func(Form) bool) []Match {
	var ms []Match
	for i, f := range forms {
		if !ok(f) {
			continue
		}
		for off := 0; ; {
			j := bytes.Index(data[off:], f.Text)
			if j < 0 {
				break
			}
			ms = append(ms, Match{Form: i, Start: off + j, End: off + j + len(f.Text)})
			off += j + 1
		}
	}
	return ms
}

// naiveHold is where the longest suffix of data that is a proper prefix of
// some form ok keeps (given where the suffix starts) begins, by plain search.
func naiveHold(forms []Form, data []byte, ok func(f Form, p int) bool) int {
	for p := range data {
		if slices.ContainsFunc(forms, func(f Form) bool {
			return ok(f, p) && len(f.Text) > len(data)-p && bytes.HasPrefix(f.Text, data[p:])
		}) {
			return p
		}
	}
	return len(data)
}

// naiveFind is the reference for FindHold: plain search of the data and of
// all of its decoded view, mapped back, and the hold of both. Forms of a
// value decoded are found only in the view, where they touch a span
// (elsewhere the view is the data as it is).
func naiveFind(m *Matcher, data []byte, partial bool) ([]Run, int) {
	var v view
	decode(&v, data, 0, partial, m.collapse)
	plain := func(f Form) bool { return f.Encoding != EncodingDecoded }
	ms := naiveMatches(m.forms, data, plain)
	// The hold counts every form: one that may still become a decoded
	// form's text is held too (it costs a short wait, nothing more).
	hold := naiveHold(m.forms, data, func(Form, int) bool { return true })
	if len(v.spans) > 0 {
		touches := func(vs, ve int) bool {
			return slices.ContainsFunc(v.spans, func(s span) bool { return s.view <= ve && s.viewEnd >= vs })
		}
		for _, x := range naiveMatches(m.forms, v.text, func(Form) bool { return true }) {
			if plain(m.forms[x.Form]) || touches(x.Start, x.End) {
				ms = append(ms, Match{Form: x.Form, Start: v.rawStart(x.Start), End: v.rawEnd(x.End)})
			}
		}
		hold = min(hold, v.pending)
		h := naiveHold(m.forms, v.text, func(Form, int) bool { return true })
		if h < len(v.text) {
			hold = min(hold, v.rawStart(h))
		}
	}
	return Unite(ms, true), hold
}

func naiveHoldOf(m *Matcher, data []byte) int {
	_, h := naiveFind(m, data, true)
	return h
}

// checkPlain compares FindHold on data with plain search: the same runs,
// and the same tail held back.
func checkPlain(t testing.TB, m *Matcher, data []byte) {
	t.Helper()
	var ms []Match
	hold := m.FindHold(data, func(x Match) { ms = append(ms, x) })
	got := Unite(ms, true)
	want, wantHold := naiveFind(m, data, true)
	same := func(a, b Run) bool { return a.Start == b.Start && a.End == b.End }
	if !slices.EqualFunc(got, want, same) {
		t.Fatalf("FindHold found %d runs, plain search %d: %v, want %v", len(got), len(want), got, want)
	}
	if hold != wantHold {
		t.Fatalf("FindHold held from %d, want %d", hold, wantHold)
	}
}

func TestMatcherEqualsNaiveSearch(t *testing.T) {
	secrets := []Secret{{"A", "tok3n-Alpha-000111"}, {"B", "s3cr3t"}, {"C", "zz:top/secret"}}
	forms, _ := Forms(secrets, 6)
	m := New(secrets, forms)
	var b strings.Builder
	for i := range 200 {
		b.WriteString("line ")
		b.WriteString(string(forms[i%len(forms)].Text))
		b.WriteString(strings.Repeat("x", i%7))
	}
	checkPlain(t, m, []byte(b.String()))
}

// TestFindHoldEqualsNaiveHold cuts texts full of forms, short and long, at
// every offset: the held tail must be exactly the longest suffix that is a
// proper prefix of some form, whichever group's probes see it.
func TestFindHoldEqualsNaiveHold(t *testing.T) {
	secrets := []Secret{{"A", "tok3n-Alpha-000111-and-more"}, {"B", "s3cr3t"}, {"C", "zz:top/secret"}, {"D", "aaaaaab"}}
	forms, _ := Forms(secrets, 6)
	m := New(secrets, forms)
	if len(m.groups) != 2 {
		t.Fatalf("want a group of short forms and one of long ones, got %d groups", len(m.groups))
	}
	r := rand.New(rand.NewPCG(1, 2))
	var b []byte
	for range 300 {
		f := forms[r.IntN(len(forms))].Text
		b = append(b, f[:1+r.IntN(len(f))]...)
		b = append(b, "aaaaa x"[r.IntN(7):]...)
	}
	for end := range len(b) + 1 {
		data := b[:end]
		if got, want := m.FindHold(data, func(Match) {}), naiveHoldOf(m, data); got != want {
			t.Fatalf("FindHold(...%q) = %d, want %d", data[max(0, end-40):], got, want)
		}
	}
}

// FuzzMatcher checks the hand-written index against plain search: for two
// secrets and any input, FindAll finds exactly the runs that bytes.Index
// does, and FindHold holds back exactly the longest suffix that is a
// proper prefix of some form.
func FuzzMatcher(f *testing.F) {
	f.Add("tok3n-Alpha-000111-and-more", "s3cr3t", []byte("x tok3n-Alpha-000111-and-more s3cr3 s3cr3t tok3n-Alp"))
	f.Add("aab-secret", "aaaaab", []byte("xaab-secretaab-secretaaaaaab aaaa"))
	f.Add("line one\nline two", "zz:top/secret", []byte("line one line two zz%3Atop%2Fsecret zz:top"))
	f.Add("s3cr3t<value>", "", []byte("s3c\x1b[31mr3t&#X3C;value&gt s3cr3t\\u003cv %7"))
	f.Fuzz(func(t *testing.T, a, b string, data []byte) {
		var secrets []Secret
		for _, v := range []string{a, b} {
			if len(v) >= 6 && len(v) < 100 {
				secrets = append(secrets, Secret{"S", v})
			}
		}
		forms, _ := Forms(secrets, 6)
		if len(forms) == 0 {
			return
		}
		checkPlain(t, New(secrets, forms), data)
	})
}

// TestTinySecrets: a minimum length of 0 or 1 still leaves no empty form,
// and forms of one to three bytes are matched and held like longer ones.
func TestTinySecrets(t *testing.T) {
	secrets := []Secret{{"E", ""}, {"A", "a"}, {"B", "b="}, {"C", "xyz"}}
	forms, short := Forms(secrets, 0)
	if len(short) != 1 || short[0] != 0 {
		t.Errorf("short = %v, want the empty secret [0]", short)
	}
	for _, f := range forms {
		if len(f.Text) == 0 {
			t.Fatalf("an empty form of %s", secrets[f.Secret].Name)
		}
	}
	m := New(secrets, forms)
	data := []byte("a b= xyz YQ== 78797a b%3D xy")
	checkPlain(t, m, data)
	if hold := m.FindHold(data, func(Match) {}); hold != len(data)-2 {
		t.Errorf("held from %d, want %d (the \"xy\" that may become \"xyz\")", hold, len(data)-2)
	}
}

// TestStreamEndlessRun: a secret repeated back to back without end is one
// run that could grow forever; the stream cuts it at maxRun, so what it
// holds stays bounded, and still lets no byte of the secret through.
func TestStreamEndlessRun(t *testing.T) {
	secrets := []Secret{{"S", "s3cr3t-value"}}
	forms, _ := Forms(secrets, 6)
	m := New(secrets, forms)
	var out []byte
	s := NewStream(m, func(decided []byte, runs []Run) error {
		at := 0
		for _, r := range runs {
			out = append(append(out, decided[at:r.Start]...), '*')
			at = r.End
		}
		out = append(out, decided[at:]...)
		return nil
	})
	chunk := []byte(strings.Repeat("s3cr3t-value", 4096/12+1))
	maxHeld := 0
	for range 100 { // 400 KiB of one run
		if err := s.Write(chunk); err != nil {
			t.Fatal(err)
		}
		maxHeld = max(maxHeld, s.Held())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if limit := maxRun + m.MaxLen() + len(chunk); maxHeld > limit {
		t.Errorf("held %d bytes back, want at most %d", maxHeld, limit)
	}
	if strings.Trim(string(out), "*") != "" || len(out) < 2 {
		t.Errorf("stream of one endless run gave %q..., want masks only (more than one: it was cut)", out[:min(len(out), 40)])
	}
}

// FuzzStream writes data through a Stream in the chunk sizes cuts gives,
// with runs cut at a tiny maxRun: the bytes masked must be exactly those
// plain search masks in the whole data (a cut run only shows as masks side
// by side), so no byte of a secret passes.
func FuzzStream(f *testing.F) {
	f.Add("s3cr3t-value", "aaaaab", []byte("s3cr3t-values3cr3t-value s3cr3t-valu aaaaaaaab"), []byte{3, 1, 7}, byte(5))
	f.Add("tok3n-Alpha-000111", "zz:top/secret", []byte("tok3n-Alpha-000111tok3n-Alpha-000111zz%3Atop%2Fsecret"), []byte{1}, byte(0))
	// A run cut at maxRun, then a write that holds everything back: what
	// was carried must still be masked when the stream goes on.
	f.Add("abcdeabcde", "", []byte("abcdeabcdeabcdeabcdQ"), []byte{14, 3, 0}, byte(9))
	// Escapes the decoded view reads, cut anywhere.
	f.Add("s3cr3t<value>", "line1\nline2", []byte("x s3c\x1b[31mr3t&lt;va%6Cue\u003e y line1 \r\r\n  line2\n"), []byte{0}, byte(40))
	f.Fuzz(func(t *testing.T, a, b string, data, cuts []byte, run byte) {
		var secrets []Secret
		for _, v := range []string{a, b} {
			if len(v) >= 6 && len(v) < 100 && !strings.Contains(v, "*") {
				secrets = append(secrets, Secret{"S", v})
			}
		}
		forms, _ := Forms(secrets, 6)
		if len(forms) == 0 || bytes.Contains(data, []byte("*")) {
			return
		}
		m := New(secrets, forms)
		mask := func(out, decided []byte, runs []Run) []byte {
			at := 0
			for _, r := range runs {
				out = append(append(out, decided[at:r.Start]...), '*')
				at = r.End
			}
			return append(out, decided[at:]...)
		}
		var out []byte
		s := NewStream(m, func(decided []byte, runs []Run) error {
			out = mask(out, decided, runs)
			return nil
		})
		s.maxRun = 1 + int(run)%64
		for i, rest := 0, data; len(rest) > 0; i++ {
			n := len(rest)
			if len(cuts) > 0 {
				n = min(n, 1+int(cuts[i%len(cuts)]))
			}
			if err := s.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		runs, _ := naiveFind(m, data, false)
		want := mask(nil, data, runs)
		for bytes.Contains(out, []byte("**")) {
			out = bytes.ReplaceAll(out, []byte("**"), []byte("*"))
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("stream masked %q, want %q", out, want)
		}
	})
}
