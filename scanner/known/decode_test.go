package known

import (
	"math/rand/v2"
	"testing"
)

// TestNewlineFindsEveryWrap checks the wrap rule's sampled search against
// reading every run: on text made of runs of base64 characters of every
// length around 56, 64 and 76, with spaces, punctuation and line ends
// between them, newline returns the first line end after a run of exactly
// 64 or 76 (prior counted when the run starts the data) from any start.
func TestNewlineFindsEveryWrap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCxyz019+/-_"
	gaps := []string{" ", "\n", " \n", "\t\r\n", ".", ":", "=", "@", "(", "\n\n", " x "}
	for range 20000 {
		var data []byte
		for len(data) < 400 {
			n := r.IntN(90)
			if r.IntN(3) == 0 {
				n = []int{63, 64, 65, 75, 76, 77}[r.IntN(6)]
			}
			for range n {
				data = append(data, alphabet[r.IntN(len(alphabet))])
			}
			data = append(data, gaps[r.IntN(len(gaps))]...)
		}
		data = data[:r.IntN(len(data)+1)]
		prior := []int{0, 0, 1, 12, 63, 64, 76}[r.IntN(7)]
		from := 0
		if r.IntN(2) == 0 {
			// Callers start past a line end, or at 0.
			from = r.IntN(len(data) + 1)
			for from > 0 && isBase64(data[from-1]) {
				from--
			}
		}
		d := decoder{data: data}
		if got, want := d.newline(from, prior), plainNewline(data, from, prior); got != want {
			t.Fatalf("newline(%q, from %d, prior %d) = %d, want %d", data, from, prior, got, want)
		}
	}
}

// plainNewline is newline read run by run.
func plainNewline(data []byte, from, prior int) int {
	if from > 0 {
		prior = 0
	}
	for s := from; s <= len(data); {
		e := s
		for e < len(data) && isBase64(data[e]) {
			e++
		}
		n := e - s
		if s == 0 {
			n += prior
		}
		if n == wrapPEM || n == wrapMIME {
			for q := e; q < len(data) && isSpace(data[q]); q++ {
				if data[q] == '\n' {
					return q
				}
			}
		}
		for s = e + 1; s < len(data) && !isBase64(data[s]); s++ {
		}
	}
	return len(data)
}
