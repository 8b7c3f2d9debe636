// Package overlap writes a stream on a goroutine of its own, beside the
// work that produces it: on two cores a log is masked and written at once
// instead of in turn (issue 15: the read and write system calls of
// `secretgate scrub` took a third of its time, all of it on the one
// goroutine that also masked).
package overlap

import (
	"io"
	"sync"
)

// Writer is an io.WriteCloser that writes to an underlying writer on a
// goroutine of its own: Write copies p into a buffer and returns, and the
// goroutine writes what is buffered as soon as it is free, so nothing waits
// for more to come. At most two buffers of the given size are held: a
// Write that finds both full waits. Like bufio.Writer, the first error of
// the underlying writer sticks, and Close writes what is buffered (it
// closes nothing else).
type Writer struct {
	w io.Writer

	mu      sync.Mutex
	cond    sync.Cond // signals a change of pending, err or closed
	pending []byte    // what Write added and the goroutine has not taken
	spare   []byte    // the buffer the goroutine writes from, when it is done
	idle    bool      // the goroutine waits for pending
	full    bool      // a Write waits for room
	err     error
	closed  bool
	done    chan struct{}
}

var _ io.WriteCloser = (*Writer)(nil)

// NewWriter returns a Writer that writes to w with buffers of size bytes.
func NewWriter(w io.Writer, size int) *Writer {
	size = max(size, 1)
	o := &Writer{w: w, pending: make([]byte, 0, size), spare: make([]byte, 0, size), done: make(chan struct{})}
	o.cond.L = &o.mu
	go o.drain()
	return o
}

// Write implements io.Writer. It reports len(p) unless an earlier write to
// the underlying writer failed.
func (o *Writer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, io.ErrClosedPipe
	}
	n := len(p)
	for {
		if o.err != nil {
			return 0, o.err
		}
		k := min(len(p), cap(o.pending)-len(o.pending))
		o.pending = append(o.pending, p[:k]...)
		p = p[k:]
		if k > 0 && o.idle {
			o.idle = false
			o.cond.Broadcast()
		}
		if len(p) == 0 {
			return n, nil
		}
		o.full = true
		o.cond.Wait()
	}
}

// Close waits until everything written has been written on, and returns
// the first error of the underlying writer.
func (o *Writer) Close() error {
	o.mu.Lock()
	if !o.closed {
		o.closed = true
		o.cond.Broadcast()
	}
	o.mu.Unlock()
	<-o.done
	return o.err
}

// drain writes what is pending, one buffer while Write fills the other.
func (o *Writer) drain() {
	defer close(o.done)
	o.mu.Lock()
	defer o.mu.Unlock()
	for {
		for len(o.pending) == 0 && !o.closed {
			o.idle = true
			o.cond.Wait()
		}
		if len(o.pending) == 0 {
			return
		}
		buf := o.pending
		o.pending = o.spare[:0]
		if o.full {
			o.full = false
			o.cond.Broadcast()
		}
		o.mu.Unlock()
		_, err := o.w.Write(buf)
		o.mu.Lock()
		o.spare = buf[:0]
		if err != nil {
			o.err = err
			o.cond.Broadcast()
			return
		}
	}
}
