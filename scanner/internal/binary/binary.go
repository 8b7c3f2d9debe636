// Package binary turns non-text content into text a detector can read: the
// printable runs that `strings` would print, as UTF-8 and as UTF-16LE,
// with every other byte turned into a line break, so that positions map
// back to byte offsets in the original.
package binary

import (
	"bytes"
	"io"
)

// MinRun is the shortest printable run kept, as `strings -n 8`.
const MinRun = 8

// Is reports whether content that starts with head is binary: it holds a
// NUL byte in its first 8000 bytes, as git decides.
func Is(head []byte) bool {
	return bytes.IndexByte(head[:min(len(head), 8000)], 0) >= 0
}

func printable(b byte) bool { return b == '\t' || 0x20 <= b && b < 0x7f || b >= 0x80 }

// runs keeps printable runs of at least MinRun bytes and turns every other
// byte into '\n', one output byte per input unit.
type runs struct {
	pending []byte // the current run while it is shorter than MinRun
	long    bool   // the current run is already long enough
}

// feed appends the output for one unit (c, or not printable) to out.
func (r *runs) feed(out []byte, c byte, ok bool) []byte {
	if ok {
		if r.long {
			return append(out, c)
		}
		r.pending = append(r.pending, c)
		if len(r.pending) >= MinRun {
			r.long = true
			out = append(out, r.pending...)
			r.pending = r.pending[:0]
		}
		return out
	}
	out = r.end(out)
	return append(out, '\n')
}

// end closes the current run.
func (r *runs) end(out []byte) []byte {
	for range r.pending {
		out = append(out, '\n')
	}
	r.pending, r.long = r.pending[:0], false
	return out
}

// Strings returns a reader of r's printable runs (ASCII and UTF-8 bytes),
// of the same length as r: byte i of the output stands for byte i of r.
func Strings(r io.Reader) io.Reader {
	return &view{src: r, unit: 1}
}

// UTF16 returns a reader of r's UTF-16LE printable runs that start at byte
// offset align (0 or 1), one output byte per code unit: byte i of the
// output stands for bytes align+2i and align+2i+1 of r.
func UTF16(r io.Reader, align int) io.Reader {
	return &view{src: r, unit: 2, skip: align}
}

// newlines is a source of '\n' fills, as long as the largest read.
var newlines = bytes.Repeat([]byte{'\n'}, 32<<10)

func allZero(b []byte) bool {
	for len(b) >= 8 {
		if b[0]|b[1]|b[2]|b[3]|b[4]|b[5]|b[6]|b[7] != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

type view struct {
	src  io.Reader
	unit int
	skip int
	runs runs
	in   []byte
	odd  []byte // a unit split across reads
	out  []byte
	at   int // how much of out was read
	err  error
}

func (v *view) Read(p []byte) (int, error) {
	if v.at == len(v.out) {
		v.out, v.at = v.out[:0], 0
	}
	for len(v.out) == 0 {
		if v.err != nil {
			if v.err == io.EOF {
				v.out = v.runs.end(v.out)
				if len(v.out) == 0 {
					return 0, io.EOF
				}
				break
			}
			return 0, v.err
		}
		if cap(v.in) == 0 {
			v.in = make([]byte, 32<<10)
		}
		n, err := v.src.Read(v.in[:cap(v.in)])
		v.err = err
		data := v.in[:n]
		if v.skip > 0 {
			k := min(v.skip, len(data))
			data, v.skip = data[k:], v.skip-k
		}
		if len(v.odd) == 0 && len(data) > 0 && allZero(data) {
			// Zero padding and sparse holes: one fill instead of a byte loop.
			v.out = v.runs.end(v.out)
			v.out = append(v.out, newlines[:len(data)/v.unit]...)
			if v.unit == 2 && len(data)%2 == 1 {
				v.odd = append(v.odd, 0)
			}
			continue
		}
		if v.unit == 1 {
			for _, c := range data {
				v.out = v.runs.feed(v.out, c, printable(c))
			}
			continue
		}
		data = append(v.odd, data...)
		i := 0
		for ; i+1 < len(data); i += 2 {
			c, hi := data[i], data[i+1]
			v.out = v.runs.feed(v.out, c, hi == 0 && c != 0 && c < 0x80 && printable(c))
		}
		v.odd = append(v.odd[:0], data[i:]...)
	}
	n := copy(p, v.out[v.at:])
	v.at += n
	return n, nil
}
