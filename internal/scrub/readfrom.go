package scrub

import "io"

// ReadBlock is how much ReadFrom asks of each read: a read from a pipe
// returns what is there, so a large block delays nothing, and each block
// costs the masking one pass of its per-write work.
const ReadBlock = 256 << 10

// readAhead is how many blocks ReadFrom reads beyond the one being masked.
const readAhead = 2

// block is what one read brought, split into parts (see commands).
type block struct {
	data  []byte
	parts []part
	err   error
}

var _ io.ReaderFrom = (*Writer)(nil)

// ReadFrom implements io.ReaderFrom: it masks what it reads from r, to its
// end, as Write would, and returns the number of bytes read and the first
// error but io.EOF. Reading, and looking for ::add-mask:: lines, run on a
// goroutine of their own beside the masking (the command is still carried
// out in order: what comes after it is masked with what it added), so that
// on two cores a log is read and masked at once (issue 15). At most three
// blocks of ReadBlock bytes are held.
//
// ReadFrom holds the Writer: Write, Close and Counts wait until it returns.
// A read in progress when the masking fails is left to end on its own, as
// a read blocked on a pipe or a terminal cannot be undone: its bytes go
// nowhere.
func (s *Writer) ReadFrom(r io.Reader) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.unusable(); err != nil {
		return 0, err
	}
	full := make(chan *block, readAhead)
	free := make(chan *block, readAhead+1)
	for range cap(free) {
		free <- &block{data: make([]byte, ReadBlock)}
	}
	stop := make(chan struct{})
	defer close(stop)
	go s.read(r, free, full, stop)
	var n int64
	for b := range full {
		n += int64(len(b.data))
		if s.masks != nil {
			s.follow()
		}
		for _, pt := range b.parts {
			if s.err = s.apply(pt); s.err != nil {
				return n, s.err
			}
		}
		if b.err == io.EOF {
			return n, nil
		}
		if b.err != nil {
			return n, b.err
		}
		b.data = b.data[:cap(b.data)]
		free <- b
	}
	return n, nil
}

// read fills free blocks from r, splits each into parts and hands it on
// to full, until an error or stop. While it runs, it alone reads and
// changes the Writer's command state (state, cmd); its sends order that
// before what the masking side does after.
func (s *Writer) read(r io.Reader, free chan *block, full chan<- *block, stop <-chan struct{}) {
	empty := 0
	for {
		var b *block
		select {
		case <-stop:
			return
		case b = <-free:
		}
		n, err := r.Read(b.data)
		if n == 0 && err == nil {
			// Nothing read and no error: ask again, as io.Copy does, but
			// not forever (bufio's limit).
			if empty++; empty < 100 {
				free <- b
				continue
			}
			err = io.ErrNoProgress
		}
		empty = 0
		b.data, b.err, b.parts = b.data[:n], err, b.parts[:0]
		if n > 0 {
			if s.masks == nil {
				b.parts = append(b.parts, part{partText, b.data})
			} else {
				// Parts of cmd are copied: the next block reuses it. Only a
				// command, and the start of a line held at a block's end,
				// are such parts.
				_ = s.commands(b.data, func(pt part) error {
					if pt.kind != partText {
						pt.text = append([]byte(nil), pt.text...)
					}
					b.parts = append(b.parts, pt)
					return nil
				})
			}
		}
		select {
		case <-stop:
			return
		case full <- b:
		}
		if err != nil {
			return
		}
	}
}
