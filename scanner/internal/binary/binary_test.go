package binary

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// run is a printable run as a plain reading of the content finds it.
type run struct {
	text   string
	offset int64
}

// reference finds the runs of content the slow, obvious way: unit by unit.
func reference(content []byte, unit, align int) []run {
	var out []run
	var cur []byte
	start := int64(0)
	flush := func() {
		if len(cur) >= MinRun {
			out = append(out, run{string(cur), start})
		}
		cur = nil
	}
	for i := align; i+unit <= len(content); i += unit {
		c := content[i]
		ok := printable(c)
		if unit == 2 {
			ok = content[i+1] == 0 && c != 0 && c < 0x80 && ok
		}
		if !ok {
			flush()
			continue
		}
		if len(cur) == 0 {
			start = int64(i)
		}
		cur = append(cur, c)
	}
	flush()
	return out
}

// read reads v whole through reads of random sizes, asking Offset for the
// first byte of each line and forgetting what is behind, as the scanner does.
func read(t *testing.T, v *View, rng *rand.Rand) []run {
	t.Helper()
	var text []byte
	var out []run
	lineStart := int64(0)
	buf := make([]byte, 1+rng.IntN(100))
	for {
		n, err := v.Read(buf[:1+rng.IntN(len(buf))])
		for _, c := range buf[:n] {
			if c == '\n' {
				pos := lineStart
				out = append(out, run{string(text), v.Offset(pos)})
				v.Forget(pos)
				text = text[:0]
				lineStart = pos + int64(len(out[len(out)-1].text)) + 1
				continue
			}
			text = append(text, c)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(text) > 0 {
		t.Fatalf("view ends without a line end: %q", text)
	}
	return out
}

func check(t *testing.T, content []byte, rng *rand.Rand) {
	t.Helper()
	for _, tc := range []struct {
		name        string
		unit, align int
		view        func(io.Reader) *View
	}{
		{"utf8", 1, 0, Strings},
		{"utf16", 2, 0, func(r io.Reader) *View { return UTF16(r, 0) }},
		{"utf16 odd", 2, 1, func(r io.Reader) *View { return UTF16(r, 1) }},
	} {
		src := io.Reader(bytes.NewReader(content))
		if rng.IntN(2) == 0 {
			src = iotest.OneByteReader(src)
		}
		v := tc.view(src)
		got, want := read(t, v, rng), reference(content, tc.unit, tc.align)
		if len(got) != len(want) {
			t.Fatalf("%s: %d runs, want %d:\n got %v\nwant %v", tc.name, len(got), len(want), got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: run %d = %q at %d, want %q at %d", tc.name, i, got[i].text, got[i].offset, want[i].text, want[i].offset)
			}
		}
		if len(v.marks) > 2 {
			t.Errorf("%s: %d marks kept after Forget, want the current run's only", tc.name, len(v.marks))
		}
	}
}

func TestViewMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	wide := func(s string) []byte {
		var b []byte
		for _, c := range []byte(s) {
			b = append(b, c, 0)
		}
		return b
	}
	cases := [][]byte{
		nil,
		[]byte("short\x00"),
		[]byte("\x00exactly8\x00seven77\x00"),
		append(append([]byte("\x7fELF\x00\x00"), bytes.Repeat([]byte{0}, 100000)...), "after the hole, a string"...),
		append(wide("a UTF-16 string here"), 0, 0, 'x'),
		// Holes of an odd length, read in many reads, before UTF-16 text
		// at either alignment (the zero byte carried from read to read).
		append(bytes.Repeat([]byte{0}, 100001), wide("after an odd hole")...),
		append(append(wide("before a hole"), bytes.Repeat([]byte{0}, 70001)...), wide("and after it")...),
		append([]byte{0}, wide("shifted by one byte")...),
		[]byte(strings.Repeat("a very long printable run ", 5000)),
	}
	for i := 0; i < 200; i++ {
		b := make([]byte, rng.IntN(5000))
		for j := range b {
			switch rng.IntN(4) {
			case 0:
				b[j] = byte(rng.IntN(256))
			case 1:
				b[j] = 0
			default:
				b[j] = byte('a' + rng.IntN(26))
			}
		}
		cases = append(cases, b)
	}
	for _, c := range cases {
		check(t, c, rng)
	}
}

func FuzzView(f *testing.F) {
	f.Add([]byte("\x00token=abcdefgh\x00\x00p\x00a\x00s\x00s\x00w\x00o\x00r\x00d\x00"), uint64(1))
	f.Fuzz(func(t *testing.T, content []byte, seed uint64) {
		check(t, content, rand.New(rand.NewPCG(seed, 0)))
	})
}
