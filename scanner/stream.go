package scanner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"

	"github.com/secretgate/secretgate/scanner/source"
)

// streamer reads contents as overlapping chunks and runs the detectors.
type streamer struct {
	detectors  []Detector
	size       int
	overlap    int
	limits     Limits
	warn       func(error)
	incomplete func(path string, err error)
	key        []byte // the fingerprint key
	buffers    sync.Pool
}

// scanReader is the streaming core: memory stays at 2*overlap+size bytes
// whatever the length of r, and a match is reported by the chunk that owns
// its first byte, so matches across chunk boundaries are found once. When r
// fails, what it gave before the error is scanned, then the error returned.
// v, when set, says r is a text view of binary content (see binaryView).
func (s *streamer) scanReader(ctx context.Context, target string, c Content, v *binaryView, r io.Reader, emit func(Finding)) (int64, error) {
	need := 2*s.overlap + s.size
	buf, _ := s.buffers.Get().(*[]byte)
	if buf == nil || cap(*buf) < need {
		b := make([]byte, 0, need)
		buf = &b
	}
	defer s.buffers.Put(buf)
	data := (*buf)[:0]
	chunk := &Chunk{Path: c.Path, FilePath: c.FilePath, Line: 1, First: true, Binary: v != nil}
	at := place{target: target, id: contentID(c), layer: c.Layer, commit: c.Commit}
	if v != nil {
		at.view = v.positions
	}
	var total int64
	var readErr error
	eof := false
	for {
		for len(data) < cap(data) && !eof {
			n, err := r.Read(data[len(data):cap(data)])
			data = data[:len(data)+n]
			total += int64(n)
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				eof, readErr = true, err // scan what arrived, then report
			}
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		if total == 0 && v == nil {
			return 0, readErr // empty content: nothing to find, as gitleaks
		}
		// A view of binary content may read no string, but the content is
		// not empty (it holds a NUL): its one, empty chunk still goes to
		// the detectors, for the rules that name files by path alone.
		chunk.Reset()
		chunk.Data = data
		chunk.End = min(chunk.Start+s.size, len(data))
		if eof {
			chunk.End = len(data)
		}
		chunk.Last = eof && chunk.End == len(data)
		for _, d := range s.detectors {
			d.Detect(ctx, chunk, func(m Match) {
				if m.Start >= 0 && (m.Start < chunk.Start || m.Start >= chunk.End) {
					return
				}
				if m.Start < 0 && (!chunk.First || v != nil && !v.whole) {
					return // a finding about the whole content: once
				}
				emit(s.finding(at, chunk, m))
			})
		}
		if chunk.Last {
			return total, readErr
		}
		keep := max(0, chunk.End-s.overlap)
		chunk.Line += bytes.Count(data[:keep], []byte{'\n'})
		if nl := bytes.LastIndexByte(data[:keep], '\n'); nl >= 0 {
			chunk.LineOffset = keep - nl - 1
		} else {
			chunk.LineOffset += keep
		}
		chunk.Offset += int64(keep)
		chunk.Start = chunk.End - keep
		chunk.First = false
		data = data[:copy(data, data[keep:])]
		if v != nil {
			v.Forget(chunk.Offset)
		}
	}
}

// place is where a stream's findings are: what the chunks do not carry.
type place struct {
	target, id, layer string
	view              positions // how positions map to byte offsets in binary content
	commit            *source.Commit
}

// binaryView is a text view of binary content (binary.View): one of the
// three a binary is read as.
type binaryView struct {
	positions
	// whole is set on the one view that reports findings about the content
	// as a whole (a rule that names files by path): the three views would
	// each report them.
	whole bool
}

// positions maps a position in a text view of binary content to a byte
// offset in the content (binary.View).
type positions interface {
	Offset(pos int64) int64
	// Forget says no position before pos will be asked for again.
	Forget(pos int64)
}

func (s *streamer) finding(at place, c *Chunk, m Match) Finding {
	f := Finding{
		Rule:        m.Rule,
		Description: m.Description,
		Location:    Location{Target: at.target, Path: c.Path, Layer: at.layer},
		Encoding:    m.Encoding,
		Redacted:    Redact(m.Prefix),
		Fingerprint: Fingerprint(s.key, m.Rule, at.id, m.Secret),
	}
	if cm := at.commit; cm != nil {
		f.Commit, f.Author, f.Email, f.Date, f.order = cm.SHA, cm.Author, cm.Email, cm.Date, cm.Order+1
	}
	switch {
	case m.Start < 0:
	case at.view != nil:
		f.Offset = at.view.Offset(c.Offset + int64(m.Start))
	default:
		f.Line, f.Column = c.Position(m.Start)
	}
	return f
}

// contentID is what a content's fingerprints are computed over.
func contentID(c Content) string {
	if c.ID != "" {
		return c.ID
	}
	return c.Path
}
