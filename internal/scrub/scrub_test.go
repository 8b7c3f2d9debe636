package scrub

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/scanner/known"
)

func matcher(values ...string) *known.Matcher {
	var secrets []known.Secret
	for i, v := range values {
		secrets = append(secrets, known.Secret{Name: fmt.Sprintf("S%d", i), Value: v})
	}
	forms, _ := known.Forms(secrets, 6)
	return known.New(secrets, forms)
}

// reference masks data in one piece, with the matcher over the whole of
// it (which scanner/known checks against plain search): what any chunking
// of the stream must produce.
func reference(m *known.Matcher, data []byte, mask string) []byte {
	var ms []known.Match
	m.FindAll(data, func(x known.Match) { ms = append(ms, x) })
	var out []byte
	at := 0
	for _, r := range known.Unite(ms, true) {
		out = append(append(out, data[at:r.Start]...), mask...)
		at = r.End
	}
	return append(out, data[at:]...)
}

// scrubChunked writes data through a Writer in the chunk sizes given.
func scrubChunked(t testing.TB, m *known.Matcher, data []byte, sizes []int) []byte {
	var out bytes.Buffer
	writeChunked(t, New(&out, m, ""), data, sizes)
	return out.Bytes()
}

// writeChunked writes data to w in the chunk sizes given, in turn (all at
// once if none), and closes w.
func writeChunked(t testing.TB, w io.WriteCloser, data []byte, sizes []int) {
	t.Helper()
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(sizes) > 0 {
			n = min(n, max(1, sizes[i%len(sizes)]))
		}
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		data = data[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestSplitAtEveryOffset(t *testing.T) {
	secret := "aab-secret-aab"
	m := matcher(secret)
	for _, input := range []string{
		"xaab-secret-aab!",
		"aaaab-secret-aab-secret-aab",
		"x" + base64.StdEncoding.EncodeToString([]byte("user:"+secret)) + "y",
		"a" + secret + secret + "b",
	} {
		want := reference(m, []byte(input), DefaultMask)
		for cut := 0; cut <= len(input); cut++ {
			got := scrubChunked(t, m, []byte(input), []int{cut, len(input)})
			if !bytes.Equal(got, want) {
				t.Errorf("scrub(%q) cut at %d = %q, want %q", input, cut, got, want)
			}
		}
		if got := scrubChunked(t, m, []byte(input), []int{1}); !bytes.Equal(got, want) {
			t.Errorf("scrub(%q) a byte at a time = %q, want %q", input, got, want)
		}
	}
}

func TestBytesThatCannotBeginASecretPassAtOnce(t *testing.T) {
	m := matcher("zebra-secret")
	var out bytes.Buffer
	w := New(&out, m, "")
	if _, err := w.Write([]byte("progress 42%\r")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "progress 42%\r" {
		t.Errorf("after Write, output = %q, want it all", got)
	}
	if _, err := w.Write([]byte("done, zebra-se")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "progress 42%\rdone, " {
		t.Errorf("after Write, output = %q, want the possible secret held back", got)
	}
	if _, err := w.Write([]byte("cret.\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "progress 42%\rdone, ***.\n" {
		t.Errorf("output = %q", got)
	}
}

func TestLargeSecret(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	secret := string(b)
	m := matcher(secret)
	input := []byte("before " + secret + " after")
	got := scrubChunked(t, m, input, []int{4096})
	if want := "before *** after"; string(got) != want {
		t.Errorf("scrub of a 1 MiB secret = %d bytes, want %q", len(got), want)
	}
}

func TestBinaryData(t *testing.T) {
	secret := "\x00\xffbin-secret\x01"
	m := matcher(secret)
	input := []byte("\x00\x01\x02" + secret + "\xfe\xff" + secret)
	if got, want := scrubChunked(t, m, input, []int{3}), reference(m, input, DefaultMask); !bytes.Equal(got, want) {
		t.Errorf("scrub = %q, want %q", got, want)
	}
}

// endless yields n bytes of log-like text holding a secret now and then.
type endless struct {
	n      int64
	line   []byte
	offset int
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && int64(n) < e.n {
		c := copy(p[n:], e.line[e.offset:])
		n += c
		e.offset = (e.offset + c) % len(e.line)
	}
	n = int(min(int64(n), e.n))
	e.n -= int64(n)
	return n, nil
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestLongStreamBoundedMemory(t *testing.T) {
	secret := "stream-secret-0123456789"
	m := matcher(secret)
	line := []byte("2026-12-01T10:00:00Z level=info msg=\"uploading chunk\" key=" + secret + " done\n")
	size := int64(longStream)
	var out counter
	w := New(&out, m, "")
	buf := make([]byte, 32<<10)
	src := &endless{n: size, line: line}
	maxBuf := 0
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				t.Fatal(werr)
			}
			maxBuf = max(maxBuf, w.stream.Held())
		}
		if err == io.EOF {
			break
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := size / int64(len(line))
	wantLen := size - lines*int64(len(secret)-len(DefaultMask))
	if out.n < wantLen-int64(len(line)) || out.n > wantLen+int64(len(line)) {
		t.Errorf("scrubbed %d bytes to %d, want about %d", size, out.n, wantLen)
	}
	if limit := m.MaxLen(); maxBuf > limit {
		t.Errorf("held %d bytes back, want at most %d", maxBuf, limit)
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("aab-secret", "x", []byte("xaab-secretaab-secret y"), []byte{1, 2, 3})
	f.Add("pa55word!", "other-one", []byte("a pa55word! b "+base64.StdEncoding.EncodeToString([]byte("u:pa55word!"))), []byte{5})
	f.Add("line one\nline two", "zzzzzz", []byte("line one line two\r\nline one\nline two"), []byte{0, 7})
	f.Add("s3cr3t<value>", "zzzzzz", []byte("s3c\x1b[31mr3t&lt;va%6Cue\u003e \x1b]8;;x\x07 line one\r\r\n"), []byte{1})
	f.Fuzz(func(t *testing.T, a, b string, input []byte, cuts []byte) {
		var values []string
		for _, v := range []string{a, b} {
			if len(v) >= 6 && len(v) < 200 && !strings.Contains(v, "*") {
				values = append(values, v)
			}
		}
		if len(values) == 0 {
			return
		}
		m := matcher(values...)
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		got := scrubChunked(t, m, input, sizes)
		if want := reference(m, input, DefaultMask); !bytes.Equal(got, want) {
			t.Fatalf("scrub = %q, want %q", got, want)
		}
		var read bytes.Buffer
		readChunked(t, New(&read, m, ""), input, sizes)
		if !bytes.Equal(read.Bytes(), got) {
			t.Fatalf("scrub by ReadFrom = %q, by Write %q", read.Bytes(), got)
		}
		// Never a leak: no form in the output, as it is or decoded.
		m.FindAll(got, func(x known.Match) {
			t.Fatalf("output %q holds form %q at %d", got, m.Forms()[x.Form].Text, x.Start)
		})
	})
}
