// Package scrub masks known secrets in a stream as it is written, in every
// form scanner/known derives, however the stream is cut into writes.
package scrub

import (
	"io"
	"sync"

	"github.com/secretgate/secretgate/scanner/known"
)

// DefaultMask replaces each masked run.
const DefaultMask = "***"

// Writer is an io.WriteCloser that writes to an underlying writer what is
// written to it, with every run of secret forms replaced by a mask.
//
// Bytes that cannot begin a secret are passed on at once; only a tail that
// may still become one is held back, so interactive output and progress
// lines appear without delay. Like bufio.Writer, the first error sticks,
// and Close flushes what is held. Memory stays within the longest form plus
// one write.
type Writer struct {
	m    *known.Matcher
	w    io.Writer
	mask []byte

	mu     sync.Mutex
	stream *known.Stream
	out    []byte
	err    error
	counts []int // masked runs per secret
	closed bool

	// With masks, ::add-mask:: lines are read (see commands).
	masks   *Masks
	version int
	state   commandState
	cmd     []byte
}

var _ io.WriteCloser = (*Writer)(nil)

// New returns a Writer that masks m's forms on their way to w. An empty
// mask means DefaultMask.
func New(w io.Writer, m *known.Matcher, mask string) *Writer {
	if mask == "" {
		mask = DefaultMask
	}
	s := &Writer{m: m, w: w, mask: []byte(mask), counts: make([]int, len(m.Secrets()))}
	s.stream = known.NewStream(m, s.emit)
	return s
}

// NewShared returns a Writer that masks what masks holds on its way to w,
// and honours ::add-mask::VALUE lines: such a line is not written, and
// from the next byte on, in this Writer and every other one sharing masks,
// the value is masked in all its forms.
func NewShared(w io.Writer, masks *Masks, mask string) *Writer {
	m, v := masks.current()
	s := New(w, m, mask)
	s.masks, s.version, s.state = masks, v, lineStart
	return s
}

// Write implements io.Writer. It reports len(p) unless an earlier or the
// underlying write failed.
func (s *Writer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.unusable(); err != nil {
		return 0, err
	}
	if s.masks == nil {
		s.err = s.stream.Write(p)
	} else {
		s.follow()
		s.err = s.commands(p, s.apply)
	}
	if s.err != nil {
		return 0, s.err
	}
	return len(p), nil
}

// unusable returns why the Writer takes nothing more, if it does not: an
// earlier error, or Close.
func (s *Writer) unusable() error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return io.ErrClosedPipe
	}
	return nil
}

// Close writes what is held back and closes nothing else.
func (s *Writer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err == nil && s.masks != nil {
		s.err = s.finish()
	}
	if s.err == nil {
		s.err = s.stream.Close()
	}
	return s.err
}

// Counts returns how many runs of each secret were masked, by the index of
// the secret in the matcher.
func (s *Writer) Counts() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.counts...)
}

// emit writes a decided stretch of the stream with its runs masked.
func (s *Writer) emit(decided []byte, runs []known.Run) error {
	out := decided
	if len(runs) > 0 {
		s.out = s.out[:0]
		at := 0
		for _, r := range runs {
			s.out = append(s.out, decided[at:r.Start]...)
			s.out = append(s.out, s.mask...)
			s.counts[s.m.Forms()[r.Best.Form].Secret]++
			at = r.End
		}
		s.out = append(s.out, decided[at:]...)
		out = s.out
	}
	if len(out) == 0 {
		return nil
	}
	_, err := s.w.Write(out)
	return err
}
