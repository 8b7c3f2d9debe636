package known

// Stream finds forms in a stream written in chunks cut anywhere: a form
// split across writes, at any byte, is found whole.
//
// Each time a stretch of the stream is decided (no later byte can change
// what it holds), Stream passes it to emit with the runs of matches in it,
// their offsets relative to the stretch; stretches follow one another, so
// a caller that wants offsets in the stream adds up their lengths. Only a
// tail that may still grow into a form, or a run that reaches it, is held
// back; Close decides it. Memory stays within the longest form, or
// maxRun, plus one write. A Stream is not safe for concurrent use.
type Stream struct {
	m     *Matcher
	emit  func(decided []byte, runs []Run) error
	buf   []byte
	ms    []Match
	carry Run // the part of a run cut at maxRun still at the start of buf
	view  view
	prior int // the line context at buf[0] (see decode)
	// maxRun is maxRun, but for tests.
	maxRun int
}

// maxRun is how long a run reaching the held tail is held whole, for the
// next bytes to extend it. Past it (secrets repeated back to back without
// end), the run is cut where the tail begins and goes on as a new run, so
// that memory stays bounded: the stream then shows two masks where one
// would have done, and nothing of a secret.
const maxRun = 64 << 10

// NewStream returns a Stream that reports to emit what it finds of m's
// forms. Overlapping and adjacent matches are united into one run.
func NewStream(m *Matcher, emit func(decided []byte, runs []Run) error) *Stream {
	return &Stream{m: m, emit: emit, maxRun: maxRun}
}

// Write feeds p to the stream, and returns emit's error.
func (s *Stream) Write(p []byte) error {
	s.buf = append(s.buf, p...)
	return s.flush(false)
}

// Close decides what is held back, and returns emit's error.
func (s *Stream) Close() error { return s.flush(true) }

func (s *Stream) flush(final bool) error {
	s.ms = s.ms[:0]
	hold := s.m.findIn(&s.view, s.buf, s.prior, func(m Match) { s.ms = append(s.ms, m) }, !final)
	carried := s.carry.End > 0
	runs := s.withCarry(Unite(s.ms, true))
	cut := len(s.buf)
	if !final {
		cut = hold
		// A run that reaches the held tail may still grow, or meet the next
		// one: hold it whole, up to maxRun.
		for i, r := range runs {
			if r.Start < cut && r.End >= cut {
				if len(s.buf)-r.Start <= s.maxRun {
					cut = r.Start
				} else {
					runs[i].End = cut
					// What goes on: the same form, its carried bytes only.
					rest := r.End - cut
					s.carry = Run{End: rest, Best: Match{Form: r.Best.Form, End: rest}, Count: 1}
				}
				break
			}
		}
	}
	if carried && cut == 0 {
		s.carry = runs[0] // nothing goes out: it still starts buf
	}
	n := 0
	for n < len(runs) && runs[n].Start < cut {
		n++
	}
	err := s.emit(s.buf[:cut], runs[:n])
	s.prior = lineAfter(s.buf[:cut], s.prior)
	s.buf = s.buf[:copy(s.buf, s.buf[cut:])]
	return err
}

// withCarry puts back, at the start of runs, what was carried of a run cut
// at maxRun, united with the runs it meets.
func (s *Stream) withCarry(runs []Run) []Run {
	c := s.carry
	if c.End == 0 {
		return runs
	}
	s.carry = Run{}
	for len(runs) > 0 && runs[0].Start <= c.End {
		r := runs[0]
		c.End = max(c.End, r.End)
		c.Count += r.Count
		if r.Best.End-r.Best.Start > c.Best.End-c.Best.Start {
			c.Best = r.Best
		}
		runs = runs[1:]
	}
	return append([]Run{c}, runs...)
}

// Held returns how many bytes the stream holds back.
func (s *Stream) Held() int { return len(s.buf) }

// SetMatcher makes the stream look for m's forms from now on, the bytes it
// holds back included. m must extend the stream's matcher (see With): the
// indexes of the forms found so far stay valid.
func (s *Stream) SetMatcher(m *Matcher) { s.m = m }
