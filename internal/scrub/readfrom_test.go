package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
)

// chunks is a reader that returns data in the sizes given, in turn (all at
// once if none), then err (io.EOF if nil).
type chunks struct {
	data  []byte
	sizes []int
	i     int
	err   error
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, max(1, c.sizes[c.i%len(c.sizes)]))
		c.i++
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// readChunked has w read data in the chunk sizes given, and closes w.
func readChunked(t testing.TB, w *Writer, data []byte, sizes []int) {
	t.Helper()
	n, err := w.ReadFrom(&chunks{data: data, sizes: sizes})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("ReadFrom = %d, %v; want %d, nil", n, err, len(data))
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// TestReadFromIsWrite: a Writer that reads its input masks it as one that
// is written to, byte for byte and count for count, with ::add-mask:: lines
// anywhere, however the reads cut it (around a command, inside one, at the
// start of a line that may be one).
func TestReadFromIsWrite(t *testing.T) {
	values := fixture.Passwords(20)
	base := matcher(values[:10]...)
	log := fixture.BuildLog(1<<20, values)
	lines := bytes.SplitAfter(log, []byte("\n"))
	var in []byte
	for i, line := range lines {
		if i%997 == 3 {
			in = fmt.Appendf(in, "  ::add-mask::%s\n", values[10+i%10])
		}
		if i%1009 == 5 {
			in = append(in, "::add-ma"...) // almost a command
		}
		in = append(in, line...)
	}
	in = append(in, "::add-mask::"+values[19]...) // one the input ends in
	for _, sizes := range [][]int{nil, {1, 4095, 7}, {ReadBlock + 1}, {13}} {
		newWriter := func(out io.Writer) *Writer { return NewShared(out, NewMasks(base, 6, func(error) {}), "") }
		var wrote, read bytes.Buffer
		w, r := newWriter(&wrote), newWriter(&read)
		writeChunked(t, w, in, []int{4096})
		readChunked(t, r, in, sizes)
		if !bytes.Equal(read.Bytes(), wrote.Bytes()) {
			t.Errorf("reads of %v: output differs from the written one", sizes)
		}
		if !slices.Equal(r.Counts(), w.Counts()) {
			t.Errorf("reads of %v: counts %v, want %v", sizes, r.Counts(), w.Counts())
		}
		for _, v := range values[:10] {
			if bytes.Contains(read.Bytes(), []byte(v)) {
				t.Fatalf("reads of %v: the output holds a value masked from the start", sizes)
			}
		}
		added := 0
		for _, c := range r.Counts()[10:] {
			added += c
		}
		if added == 0 {
			t.Errorf("reads of %v: counts %v; want the added values masked too", sizes, r.Counts())
		}
	}
}

// TestReadFromErrors: a read error ends ReadFrom with what came before it
// masked; an error writing on sticks; a reader that never brings anything
// is given up on.
func TestReadFromErrors(t *testing.T) {
	const v = "err-s3cret-value"
	m := matcher(v)
	broken := errors.New("broken pipe")

	var out bytes.Buffer
	w := New(&out, m, "")
	n, err := w.ReadFrom(&chunks{data: []byte("a " + v + " b\n"), sizes: []int{3}, err: broken})
	if !errors.Is(err, broken) || n != int64(len("a "+v+" b\n")) {
		t.Errorf("ReadFrom = %d, %v; want all of it read, then %v", n, err, broken)
	}
	if err := w.Close(); err != nil || out.String() != "a *** b\n" {
		t.Errorf("Close = %v, output %q; want nil and the input masked", err, out.String())
	}

	w = New(failing{broken}, m, "")
	if _, err := w.ReadFrom(&chunks{data: []byte(strings.Repeat("x\n", 1000)), sizes: []int{5}}); !errors.Is(err, broken) {
		t.Errorf("ReadFrom into a failing writer = %v, want %v", err, broken)
	}
	if _, err := w.Write([]byte("more\n")); !errors.Is(err, broken) {
		t.Errorf("Write after = %v, want %v: the error sticks", err, broken)
	}

	w = New(io.Discard, m, "")
	if _, err := w.ReadFrom(nothing{}); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("ReadFrom of a reader that brings nothing = %v, want %v", err, io.ErrNoProgress)
	}
}

type failing struct{ err error }

func (f failing) Write([]byte) (int, error) { return 0, f.err }

type nothing struct{}

func (nothing) Read([]byte) (int, error) { return 0, nil }
