package scrub

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/secretgate/secretgate/scanner/detect"
)

// MaxLine bounds how much of a line is held back for the rule masker; a
// longer line is masked and passed on in pieces, each cut LineOverlap bytes
// before the end of what is held, or after a match that crosses there: a
// token standing across a cut is seen whole.
const MaxLine = 64 << 10

// LineOverlap is the longest token a cut of a long line is sure not to
// split: rule matches on one line are far shorter (gitleaks' longest
// single-line patterns take a few hundred bytes).
const LineOverlap = 4 << 10

// Lines is an io.WriteCloser that masks, line by line, what a detector
// (gitleaks rules) finds: tokens nobody declared. A line ends at \n or \r,
// so progress lines pass at once. Like Writer, the first error sticks and
// Close flushes.
type Lines struct {
	w    io.Writer
	d    detect.Detector
	mask []byte

	mu     sync.Mutex
	buf    []byte
	err    error
	masked int
}

var _ io.WriteCloser = (*Lines)(nil)

// NewLines returns a Lines writing to w.
func NewLines(w io.Writer, d detect.Detector, mask string) *Lines {
	if mask == "" {
		mask = DefaultMask
	}
	return &Lines{w: w, d: d, mask: []byte(mask)}
}

// Write implements io.Writer.
func (l *Lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	l.buf = append(l.buf, p...)
	for l.err == nil {
		i := bytes.IndexAny(l.buf, "\r\n")
		switch {
		case i >= 0:
			l.emit(i + 1)
		case len(l.buf) >= MaxLine:
			l.emitPart()
		default:
			return len(p), nil
		}
	}
	return 0, l.err
}

// Close writes out a last line without an end.
func (l *Lines) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil && len(l.buf) > 0 {
		l.emit(len(l.buf))
	}
	return l.err
}

// Masked returns how many rule matches were masked.
func (l *Lines) Masked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.masked
}

// emit masks and writes buf[:n], a whole line.
func (l *Lines) emit(n int) {
	spans := l.find(l.buf[:n])
	l.write(n, spans)
}

// emitPart masks and writes the front of a long line held in buf: up to
// LineOverlap bytes before its end, or past a match that stands across
// there. The rest stays held, to be seen with what follows.
func (l *Lines) emitPart() {
	cut := len(l.buf) - LineOverlap
	var kept []span
	for _, s := range l.find(l.buf) {
		if s.match.start < cut {
			kept = append(kept, s)
		}
	}
	for _, s := range kept {
		cut = max(cut, s.match.end, s.end)
	}
	l.write(cut, kept)
}

// find returns where, in line, the detector finds secrets, sorted.
func (l *Lines) find(line []byte) []span {
	var spans []span
	c := &detect.Chunk{Data: line, End: len(line), Line: 1, First: true, Last: true}
	l.d.Detect(context.Background(), c, func(m detect.Match) {
		if m.Start < 0 || m.Secret == "" {
			return
		}
		// Mask the secret inside the match, not the key name around it.
		end := min(len(line), max(m.End, m.Start+len(m.Secret)))
		if i := strings.Index(string(line[m.Start:end]), m.Secret); i >= 0 {
			spans = append(spans, span{m.Start + i, m.Start + i + len(m.Secret), bounds{m.Start, end}})
		}
	})
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	return spans
}

// write writes buf[:n] with spans masked, and drops it from buf.
func (l *Lines) write(n int, spans []span) {
	line := l.buf[:n]
	out := make([]byte, 0, len(line))
	at := 0
	for _, s := range spans {
		s.start, s.end = max(s.start, at), min(s.end, n)
		if s.end <= s.start {
			continue
		}
		out = append(append(out, line[at:s.start]...), l.mask...)
		at = s.end
		l.masked++
	}
	out = append(out, line[at:]...)
	if _, err := l.w.Write(out); err != nil {
		l.err = err
	}
	l.buf = l.buf[:copy(l.buf, l.buf[n:])]
}

// span is a secret to mask, within the rule's match.
type span struct {
	start, end int
	match      bounds
}

type bounds struct{ start, end int }
