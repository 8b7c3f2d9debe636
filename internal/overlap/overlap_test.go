package overlap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"testing/synctest"
)

// TestWriterWritesAll: what is written comes out whole and in order,
// whatever the sizes of the writes against the buffers', by Close.
func TestWriterWritesAll(t *testing.T) {
	var want []byte
	for i := range 5000 {
		want = fmt.Appendf(want, "line %d\n", i)
	}
	for _, size := range []int{1, 7, 4096, 1 << 20} {
		for _, chunk := range []int{1, 3, 100, len(want)} {
			var out bytes.Buffer
			w := NewWriter(&out, size)
			for p := want; len(p) > 0; {
				n := min(chunk, len(p))
				if k, err := w.Write(p[:n]); k != n || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", k, err, n)
				}
				p = p[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("buffers of %d, writes of %d: %d bytes out, want the %d written", size, chunk, out.Len(), len(want))
			}
		}
	}
}

// gate is a writer that takes each write only when let through.
type gate struct {
	mu   sync.Mutex
	got  []byte
	pass chan struct{}
	err  error
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.pass
	g.mu.Lock()
	defer g.mu.Unlock()
	g.got = append(g.got, p...)
	return len(p), g.err
}

func (g *gate) received() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return string(g.got)
}

// TestWriterDoesNotWait: a write goes on at once, not when more comes or
// at Close; and with the underlying writer stuck, Write holds at most two
// buffers before it waits.
func TestWriterDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gate{pass: make(chan struct{})}
		w := NewWriter(g, 4)
		if _, err := w.Write([]byte("ab")); err != nil {
			t.Fatal(err)
		}
		g.pass <- struct{}{} // the goroutine is in g.Write with "ab"
		synctest.Wait()
		if got := g.received(); got != "ab" {
			t.Fatalf("after one write, received %q; want it on its way at once", got)
		}
		// g takes nothing more: one buffer for the goroutine, one to fill.
		wrote := make(chan struct{})
		go func() {
			w.Write([]byte("cdefghijkl")) // 10 bytes: 4 taken, 4 buffered, 2 wait
			close(wrote)
		}()
		synctest.Wait()
		select {
		case <-wrote:
			t.Fatal("Write returned with more than two buffers of bytes unwritten")
		default:
		}
		for range 3 {
			g.pass <- struct{}{}
		}
		<-wrote
		close(g.pass)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := g.received(); got != "abcdefghijkl" {
			t.Errorf("received %q, want everything in order", got)
		}
	})
}

// TestWriterErrorSticks: the underlying writer's first error comes back
// from the next Write and from Close.
func TestWriterErrorSticks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		broken := errors.New("broken pipe")
		g := &gate{pass: make(chan struct{}), err: broken}
		close(g.pass)
		w := NewWriter(g, 16)
		w.Write([]byte("x"))
		synctest.Wait()
		if _, err := w.Write([]byte("y")); !errors.Is(err, broken) {
			t.Errorf("Write after a failed write = %v, want %v", err, broken)
		}
		if err := w.Close(); !errors.Is(err, broken) {
			t.Errorf("Close = %v, want %v", err, broken)
		}
		if _, err := w.Write([]byte("z")); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Write after Close = %v, want %v", err, io.ErrClosedPipe)
		}
	})
}
