// Package binary turns non-text content into text a detector can read: the
// printable runs that `strings` would print, as UTF-8 and as UTF-16LE, one
// run a line. A View maps each position of its text back to the byte offset
// in the content it stands for.
package binary

import (
	"bytes"
	"io"
	"sort"
)

// MinRun is the shortest printable run kept, as `strings -n 8`.
const MinRun = 8

// Is reports whether content that starts with head is binary: it holds a
// NUL byte in its first 8000 bytes, as git decides.
func Is(head []byte) bool {
	return bytes.IndexByte(head[:min(len(head), 8000)], 0) >= 0
}

func printable(b byte) bool { return b == '\t' || 0x20 <= b && b < 0x7f || b >= 0x80 }

// A View reads the printable runs of at least MinRun units of a binary
// content, each followed by one '\n': what lies between runs (code, zero
// padding, a sparse file's holes) is read but not passed on, so a detector
// reads the strings of a binary and nothing else. A printable run never
// holds '\n', so each line of the view is one run.
type View struct {
	src  io.Reader
	unit int   // bytes a unit: 1 for UTF-8, 2 for UTF-16LE
	skip int   // bytes still to skip before the first unit
	base int64 // the content offset of unit 0

	in      []byte
	odd     []byte // a unit split across reads
	scratch []byte // a UTF-16 run's low bytes
	out     []byte
	at      int // how much of out was read
	err     error

	pending []byte // the current run while it is shorter than MinRun
	long    bool   // the current run is already long enough
	units   int64  // units read so far
	written int64  // bytes of view appended to out so far
	marks   []mark // where each run starts, ascending
}

// mark says that view position pos stands for unit unit.
type mark struct{ pos, unit int64 }

// Strings returns a view of r's printable runs (ASCII and UTF-8 bytes).
func Strings(r io.Reader) *View {
	return &View{src: r, unit: 1}
}

// UTF16 returns a view of r's UTF-16LE printable runs that start at byte
// offset align (0 or 1), one byte of view per code unit.
func UTF16(r io.Reader, align int) *View {
	return &View{src: r, unit: 2, skip: align, base: int64(align)}
}

// Offset returns the byte offset in the content of view position pos. pos
// must not be before a position passed to Forget.
func (v *View) Offset(pos int64) int64 {
	i := sort.Search(len(v.marks), func(i int) bool { return v.marks[i].pos > pos }) - 1
	if i < 0 {
		return v.base
	}
	m := v.marks[i]
	return v.base + int64(v.unit)*(m.unit+pos-m.pos)
}

// Forget drops what Offset needs only for positions before pos, so memory
// stays bounded by what the reader holds, not by the length of the content.
func (v *View) Forget(pos int64) {
	i := sort.Search(len(v.marks), func(i int) bool { return v.marks[i].pos > pos }) - 1
	if i > 0 {
		v.marks = v.marks[:copy(v.marks, v.marks[i:])]
	}
}

// feed takes units, all printable.
func (v *View) feed(units []byte) {
	v.units += int64(len(units))
	if !v.long {
		if len(v.pending)+len(units) < MinRun {
			v.pending = append(v.pending, units...)
			return
		}
		v.marks = append(v.marks, mark{v.written, v.units - int64(len(v.pending)+len(units))})
		v.out = append(v.out, v.pending...)
		v.written += int64(len(v.pending))
		v.pending, v.long = v.pending[:0], true
	}
	v.out = append(v.out, units...)
	v.written += int64(len(units))
}

// gap takes n units that are not printable.
func (v *View) gap(n int64) {
	v.units += n
	v.end()
}

// end closes the current run.
func (v *View) end() {
	if v.long {
		v.out = append(v.out, '\n')
		v.written++
	}
	v.pending, v.long = v.pending[:0], false
}

// allZero reports whether b is all zero bytes: its first is, and each
// equals the one before, which one vectorised comparison of b with itself
// shifted by a byte tells, faster than a loop over its words.
func allZero(b []byte) bool {
	return len(b) > 0 && b[0] == 0 && bytes.Equal(b[1:], b[:len(b)-1])
}

func (v *View) Read(p []byte) (int, error) {
	if v.at == len(v.out) {
		v.out, v.at = v.out[:0], 0
	}
	for len(v.out) == 0 {
		if v.err != nil {
			if v.err != io.EOF {
				return 0, v.err
			}
			v.end()
			if len(v.out) == 0 {
				return 0, io.EOF
			}
			break
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
		if allZero(data) && (len(v.odd) == 0 || v.odd[0] == 0) {
			// Zero padding and sparse holes: counted, not looked at. A
			// UTF-16 view carries a zero byte from one read to the next
			// when the hole is an odd number of bytes from its alignment.
			n := len(v.odd) + len(data)
			v.gap(int64(n / v.unit))
			v.odd = v.odd[:0]
			if n%v.unit == 1 {
				v.odd = append(v.odd, 0)
			}
			continue
		}
		if v.unit == 1 {
			v.bytes(data)
		} else {
			v.utf16(data)
		}
	}
	n := copy(p, v.out[v.at:])
	v.at += n
	return n, nil
}

// bytes takes data as UTF-8 units.
func (v *View) bytes(data []byte) {
	for i := 0; i < len(data); {
		j := i
		for j < len(data) && printable(data[j]) {
			j++
		}
		if j > i {
			v.feed(data[i:j])
		}
		for i = j; i < len(data) && !printable(data[i]); i++ {
		}
		if i > j {
			v.gap(int64(i - j))
		}
	}
}

// utf16 takes data as UTF-16LE units, with a byte left from the last read.
func (v *View) utf16(data []byte) {
	if len(v.odd) == 1 && len(data) > 0 {
		if wide(v.odd[0], data[0]) {
			v.feed([]byte{v.odd[0]})
		} else {
			v.gap(1)
		}
		v.odd, data = v.odd[:0], data[1:]
	}
	i := 0
	for i+1 < len(data) {
		j := i
		for j+1 < len(data) && wide(data[j], data[j+1]) {
			j += 2
		}
		if j > i {
			v.scratch = v.scratch[:0]
			for k := i; k < j; k += 2 {
				v.scratch = append(v.scratch, data[k])
			}
			v.feed(v.scratch)
		}
		for i = j; i+1 < len(data) && !wide(data[i], data[i+1]); i += 2 {
		}
		if i > j {
			v.gap(int64(i-j) / 2)
		}
	}
	if i < len(data) {
		v.odd = append(v.odd[:0], data[i])
	}
}

// wide reports whether the UTF-16LE unit lo, hi is printable ASCII.
func wide(lo, hi byte) bool { return hi == 0 && lo != 0 && lo < 0x80 && printable(lo) }
