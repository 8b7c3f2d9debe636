package detect

import (
	"bytes"
	"sort"
)

// Chunk is one window of a content stream handed to every Detector.
//
// A stream is cut into chunks that overlap: Data holds the bytes the chunk
// owns, Data[Start:End], plus up to Overlap bytes of context on each side.
// A detector searches all of Data and reports every match it sees; the
// scanner keeps only those that start inside [Start, End), so a secret that
// straddles a chunk boundary is found exactly once.
type Chunk struct {
	// Path is the content's path as reported in findings.
	Path string
	// FilePath is the path as gitleaks-style path rules and allowlists see it:
	// the walked path, joined to the target the user named.
	FilePath string
	// Data is the chunk's bytes, context included. Detectors must not keep it.
	Data []byte
	// Start and End bound the bytes this chunk owns within Data.
	Start, End int
	// Offset is the position of Data[0] in the whole stream.
	Offset int64
	// Line is the 1-based line number of Data[0].
	Line int
	// LineOffset is how many bytes of Data[0]'s line come before it.
	LineOffset int
	// First is true for the first chunk of a content (and only there).
	First bool
	// Last is true when Data reaches the end of the stream.
	Last bool
	// Binary is true for a text view of binary content (its printable
	// runs), not text.
	Binary bool

	newlines []int // positions of '\n' in Data, computed on first use
	indexed  bool
}

// Newlines returns the positions of every '\n' in Data, ascending.
func (c *Chunk) Newlines() []int {
	if !c.indexed {
		c.newlines = c.newlines[:0]
		for i := 0; ; {
			j := bytes.IndexByte(c.Data[i:], '\n')
			if j < 0 {
				break
			}
			c.newlines = append(c.newlines, i+j)
			i += j + 1
		}
		c.indexed = true
	}
	return c.newlines
}

// LineIndex returns the 0-based index, within Data, of the line holding off.
func (c *Chunk) LineIndex(off int) int {
	nl := c.Newlines()
	return sort.SearchInts(nl, off)
}

// LineStart returns the position in Data where line index i (0-based) begins.
func (c *Chunk) LineStart(i int) int {
	if i <= 0 {
		return 0
	}
	nl := c.Newlines()
	if i > len(nl) {
		return len(c.Data)
	}
	return nl[i-1] + 1
}

// LineEnd returns the position just past line index i, its '\n' included.
func (c *Chunk) LineEnd(i int) int {
	nl := c.Newlines()
	if i < 0 {
		return 0
	}
	if i >= len(nl) {
		return len(c.Data)
	}
	return nl[i] + 1
}

// Position returns the 1-based line and column of off within the stream.
func (c *Chunk) Position(off int) (line, column int) {
	i := c.LineIndex(off)
	column = off - c.LineStart(i) + 1
	if i == 0 {
		column += c.LineOffset
	}
	return c.Line + i, column
}

// Reset prepares c for reuse with new data.
func (c *Chunk) Reset() {
	c.indexed = false
	c.newlines = c.newlines[:0]
}
