package scrub

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/secretgate/secretgate/scanner/known"
)

// MaxCommand bounds an ::add-mask:: line. A longer one is dropped (never
// printed) with a warning: its value is not known whole.
const MaxCommand = 64 << 10

// addMask is the start of the command, after optional blanks.
var addMask = []byte("::add-mask")

// Masks is the set of secrets a group of Writers masks (a child's standard
// output and standard error): the ones it starts with, and those that an
// ::add-mask::VALUE line in any of the streams adds while they run, as the
// GitHub runner honours from any step. Anything that can write to a stream
// can add a mask; a mask only ever hides more.
type Masks struct {
	mu     sync.Mutex
	base   *known.Matcher
	minLen int
	added  []known.Secret
	// addedForms are the forms of added, each secret's derived once.
	addedForms []known.Form
	m          *known.Matcher
	version    int
	warn       func(error)
	forward    func(w io.Writer, value string) error
}

// Forward makes each added mask also written, as a command, to the output
// of the stream it came from, at the start of a line, through write (the
// GitHub runner reads ::add-mask:: from a step's output: a mask a child
// adds inside `secretgate run` then covers every later step too). What the
// stream held back before the command is decided first, so the command
// starts a line and is read, never printed.
func (k *Masks) Forward(write func(w io.Writer, value string) error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.forward = write
}

// NewMasks returns the set of m's secrets, to which ::add-mask:: lines add
// values of at least minLen bytes. warn is told, by the number of the
// mask, of a command it could not honour.
func NewMasks(m *known.Matcher, minLen int, warn func(error)) *Masks {
	return &Masks{base: m, m: m, minLen: minLen, warn: warn}
}

// Matcher returns the matcher for every secret so far, added ones last.
func (k *Masks) Matcher() *known.Matcher {
	m, _ := k.current()
	return m
}

// current returns the matcher and its version.
func (k *Masks) current() (*known.Matcher, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.m, k.version
}

// command carries out one ::add-mask:: line (without its line end), and
// returns the value it added, if any.
func (k *Masks) command(line []byte) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := len(k.added) + 1
	value, ok := commandValue(line)
	switch {
	case !ok:
		k.warn(fmt.Errorf("::add-mask:: command %d: malformed (want ::add-mask::VALUE): nothing added", n))
		return "", false
	case value == "":
		k.warn(fmt.Errorf("::add-mask:: command %d: empty value: nothing added", n))
		return "", false
	}
	secret := known.Secret{Name: fmt.Sprintf("add-mask-%d", n), Value: value}
	forms, short := known.Forms([]known.Secret{secret}, k.minLen)
	if len(short) > 0 {
		k.warn(fmt.Errorf("::add-mask:: command %d: the value is shorter than %d bytes: it is not matched", n, k.minLen))
	}
	for i := range forms {
		forms[i].Secret = len(k.added)
	}
	k.added = append(k.added, secret)
	k.addedForms = append(k.addedForms, forms...)
	// One group for everything added, on top of the base: a job that adds
	// many masks keeps a matcher of two parts, not one part per mask.
	k.m = k.base.With(k.added, k.addedForms)
	k.version++
	return value, true
}

// dropped warns of a command dropped for its length.
func (k *Masks) dropped() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.warn(fmt.Errorf("an ::add-mask:: command longer than %d bytes was dropped: nothing added", MaxCommand))
}

// commandValue returns the value of an ::add-mask:: line: what follows the
// "::" that ends the command (and its properties, if any), with the
// runner's escapes (%25 %0D %0A) undone.
func commandValue(line []byte) (string, bool) {
	line = bytes.TrimLeft(line, " \t")
	rest, ok := bytes.CutPrefix(line, addMask)
	if !ok || len(rest) == 0 || rest[0] != ':' && rest[0] != ' ' {
		return "", false
	}
	i := bytes.Index(rest, []byte("::"))
	if i < 0 {
		return "", false
	}
	v := strings.TrimSuffix(string(rest[i+2:]), "\r")
	return strings.NewReplacer("%0D", "\r", "%0d", "\r", "%0A", "\n", "%0a", "\n", "%25", "%").Replace(v), true
}

// commandState is where a Writer is in reading commands.
type commandState int

const (
	midLine   commandState = iota // bytes go to the stream up to the line end
	lineStart                     // at the start of a line
	maybe                         // cmd holds the start of a line that may be a command
	inCommand                     // cmd holds a command, up to its line end
	dropping                      // a command too long: dropped up to its line end
)

// part is a piece of the input as commands splits it, in order.
type part struct {
	kind partKind
	// text is the piece: for partText a piece of what commands was given,
	// for partHeld and partCommand a piece of the Writer's cmd, which
	// commands reuses.
	text []byte
}

type partKind uint8

const (
	partText    partKind = iota // bytes for the stream
	partHeld                    // the start of a line held as a maybe-command, for the stream
	partCommand                 // an ::add-mask:: line without its line end: carry it out
	partDropped                 // a command too long was dropped: warn
)

// commands splits p into what goes to the stream and ::add-mask:: lines,
// which are carried out and never printed, and hands each part, in order,
// to take.
func (s *Writer) commands(p []byte, take func(part) error) error {
	for len(p) > 0 {
		switch s.state {
		case inCommand, dropping:
			i := bytes.IndexByte(p, '\n')
			end := len(p)
			if i >= 0 {
				end = i
			}
			if s.state == inCommand {
				s.cmd = append(s.cmd, p[:end]...)
				if len(s.cmd) > MaxCommand {
					s.cmd, s.state = s.cmd[:0], dropping
					if err := take(part{kind: partDropped}); err != nil {
						return err
					}
				}
			}
			if i < 0 {
				return nil
			}
			if s.state == inCommand {
				cmd := s.cmd
				s.cmd = s.cmd[:0]
				if err := take(part{partCommand, cmd}); err != nil {
					return err
				}
			}
			s.state, p = lineStart, p[i+1:]
		case lineStart, maybe:
			rest, err := s.lineHead(p, take)
			if err != nil {
				return err
			}
			p = rest
		case midLine:
			// Every line up to the first that may be a command goes on in
			// one write (a write a line would cost a stream flush a line):
			// up to a line that holds "::add-mask" after blanks, or else
			// up to the last line, whose start lineHead looks at.
			cut := commandLine(p)
			if cut < 0 {
				cut = bytes.LastIndexByte(p, '\n') + 1
				if cut == 0 || !mayBeCommand(p[cut:]) {
					return take(part{partText, p})
				}
			}
			if err := take(part{partText, p[:cut]}); err != nil {
				return err
			}
			s.state, p = lineStart, p[cut:]
		}
	}
	return nil
}

// commandLine returns where in p, which starts mid-line, the first line
// begins that holds "::add-mask" after blanks, or -1.
//
// It samples: the command's nine pairs of bytes are all different, and
// an occurrence holds one of them at a multiple of nine, so a pair read
// there and looked up in a bit set (commandPairs) says whether, and where,
// the command may start. Samples do not wait on one another; searching for
// the command's rarest byte instead ('k', one byte in a hundred in the
// benchmark's log) cost a call a hit, a tenth of scrub's time. The pair
// is read a byte at a time, which the compiler sees is in bounds:
// binary.LittleEndian.Uint16 of p[q:] kept its checks, and
// BenchmarkCommandLine ran at 4.3-5.0 GB/s against 4.9-5.8.
func commandLine(p []byte) int {
	step := len(addMask) - 1
	for q := 0; q+1 < len(p); q += step {
		pair := uint16(p[q]) | uint16(p[q+1])<<8
		if commandPairs[pair>>6]&(1<<(pair&63)) == 0 {
			continue
		}
		start := q - bytes.Index(addMask, p[q:q+2])
		if start < 0 || !bytes.HasPrefix(p[start:], addMask) {
			continue
		}
		j := start
		for j > 0 && (p[j-1] == ' ' || p[j-1] == '\t') {
			j--
		}
		if j > 0 && p[j-1] == '\n' {
			return j
		}
	}
	return -1
}

// commandPairs is the set of pairs of bytes in "::add-mask", a bit each.
var commandPairs = func() (set [1 << 16 / 64]uint64) {
	for i := range len(addMask) - 1 {
		pair := uint16(addMask[i]) | uint16(addMask[i+1])<<8
		set[pair>>6] |= 1 << (pair & 63)
	}
	return set
}()

// mayBeCommand reports whether a line's first bytes (all of them there are
// so far) may still begin a command.
func mayBeCommand(head []byte) bool {
	head = bytes.TrimLeft(head, " \t")
	n := min(len(head), len(addMask))
	if !bytes.Equal(head[:n], addMask[:n]) {
		return false
	}
	return len(head) == n || head[n] == ':' || head[n] == ' '
}

// lineHead holds the first bytes of a line while they may still begin a
// command (blanks, then "::add-mask" and ':' or ' '), and decides: a
// command, or a line that goes out as it is. It returns the rest of p.
func (s *Writer) lineHead(p []byte, take func(part) error) ([]byte, error) {
	for n, c := range p {
		at := bytes.TrimLeft(s.cmd, " \t")
		switch {
		case len(at) == 0 && (c == ' ' || c == '\t'):
		case len(at) < len(addMask) && c == addMask[len(at)]:
		case len(at) == len(addMask) && (c == ':' || c == ' '):
			s.cmd = append(s.cmd, c)
			s.state = inCommand
			return p[n+1:], nil
		default:
			held := s.cmd
			s.cmd, s.state = s.cmd[:0], midLine
			if len(held) == 0 {
				return p[n:], nil
			}
			return p[n:], take(part{partHeld, held})
		}
		s.cmd = append(s.cmd, c)
	}
	s.state = maybe
	return nil, nil
}

// apply does what a part of the input asks for: the stream takes text, a
// command is carried out.
func (s *Writer) apply(pt part) error {
	switch pt.kind {
	case partCommand:
		return s.runCommand(pt.text)
	case partDropped:
		s.masks.dropped()
		return nil
	}
	return s.stream.Write(pt.text)
}

// runCommand carries out the command line, and from the next byte on
// masks with what it added; with Forward, it passes the mask on.
func (s *Writer) runCommand(line []byte) error {
	value, added := s.masks.command(line)
	s.follow()
	s.masks.mu.Lock()
	forward := s.masks.forward
	s.masks.mu.Unlock()
	if !added || forward == nil {
		return nil
	}
	// The input before the command ended a line: once the stream has
	// decided what it held, the output has too.
	if err := s.stream.Close(); err != nil {
		return err
	}
	return forward(s.w, value)
}

// follow switches the stream to the masks' newest matcher, if it changed.
func (s *Writer) follow() {
	m, v := s.masks.current()
	if v == s.version {
		return
	}
	s.version, s.m = v, m
	s.stream.SetMatcher(m)
	if n := len(m.Secrets()); n > len(s.counts) {
		s.counts = append(s.counts, make([]int, n-len(s.counts))...)
	}
}

// finish carries out a command the stream ended in (with no line end), and
// lets out the held start of a line that was not one.
func (s *Writer) finish() error {
	cmd := s.cmd
	s.cmd = s.cmd[:0]
	switch s.state {
	case inCommand:
		return s.runCommand(cmd)
	case maybe:
		return s.stream.Write(cmd)
	}
	return nil
}
