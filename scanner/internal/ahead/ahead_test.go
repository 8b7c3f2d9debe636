package ahead

import (
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"testing/iotest"
)

func TestPassesDataThenError(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 100000) // several buffers
	broken := errors.New("unexpected end of stream")
	a := New(io.MultiReader(iotest.HalfReader(bytes.NewReader(data)), iotest.ErrReader(broken)))
	defer a.Close()
	got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(a, 1000)))
	if err != nil || !bytes.Equal(got, data[:1000]) {
		t.Fatalf("first 1000 bytes: %v, equal %v", err, bytes.Equal(got, data[:1000]))
	}
	rest, err := io.ReadAll(a)
	if !errors.Is(err, broken) {
		t.Errorf("error = %v, want the source's own error after its data", err)
	}
	if !bytes.Equal(rest, data[1000:]) {
		t.Errorf("read %d bytes after the first 1000, want %d", len(rest), len(data)-1000)
	}
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, broken) {
		t.Errorf("a read after the end: %v, want the error again", err)
	}
}

func TestEOF(t *testing.T) {
	a := New(bytes.NewReader([]byte("short")))
	defer a.Close()
	got, err := io.ReadAll(a)
	if err != nil || string(got) != "short" {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
}

// endless counts its reads, to see none after Close.
type endless struct{ reads atomic.Int64 }

func (e *endless) Read(p []byte) (int, error) {
	e.reads.Add(1)
	return len(p), nil
}

func TestCloseStopsReading(t *testing.T) {
	src := &endless{}
	a := New(src)
	if _, err := io.ReadFull(a, make([]byte, 3*bufferSize)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	n := src.reads.Load()
	if n > (3+depth)*bufferSize {
		t.Errorf("%d reads of the source for %d bytes read", n, 3*bufferSize)
	}
	a.Close() // twice is harmless
	if _, err := io.ReadAll(a); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("reading after Close: %v, want io.ErrClosedPipe", err)
	}
	if got := src.reads.Load(); got != n {
		t.Errorf("the source was read %d times after Close", got-n)
	}
}
