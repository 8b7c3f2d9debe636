package rules

import (
	"math/rand/v2"
	"testing"

	"github.com/secretgate/secretgate/scanner/detect"
)

// TestRuneTextWindows checks that converting a chunk once for RE2 gives
// each window what converting the window alone gives, with line indexes.
func TestRuneTextWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("ab\n\xe2\x82\xac\xff\xc3")
	for range 500 {
		data := make([]byte, rng.IntN(60))
		for i := range data {
			data[i] = alphabet[rng.IntN(len(alphabet))]
		}
		c := &detect.Chunk{Data: data}
		rt := &runeText{c: c}
		last := len(c.Newlines())
		from := rng.IntN(last + 1)
		to := from + rng.IntN(last-from+1)
		start, end := c.LineStart(from), c.LineEnd(to)
		got, line := rt.window(start, end)
		want, _ := runes(data[start:end])
		if string(got) != string(want) {
			t.Fatalf("window %d-%d of %q = %q, want %q", start, end, data, got, want)
		}
		l := from
		for off, b := range got {
			if line(off) != l {
				t.Fatalf("line(%d) in window %d-%d of %q = %d, want %d", off, start, end, data, line(off), l)
			}
			if b == '\n' {
				l++
			}
		}
	}
}
