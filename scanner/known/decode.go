package known

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

// The decoded view: the forms a log or an artifact can give a secret that
// no list of forms can enumerate, because they apply to any byte of it.
// Terminal colour and control sequences inside a value; HTML and XML
// entities, named, decimal or hex; percent-escapes of any byte, in either
// case; backslash escapes as JSON, JavaScript and C-like languages write
// them (\u003c, \/, \x41); base64 wrapped at 64 or 76 columns; and, when a
// secret has several lines, its lines with any whitespace between them.
//
// Rather than enumerate these, the matcher reads the data a second time,
// decoded, but only near the places where decoding changed something (a
// span): a form found there is mapped back onto the raw bytes it came from.
// A stretch with nothing to decode costs a scan for each of four trigger
// bytes (%, &, \, ESC) and the wrap rule's skipping search (see newline).

// span is one place where the view differs from the raw data:
// raw[raw:rawEnd] reads as view[view:viewEnd] (empty for a sequence the
// view drops).
type span struct {
	raw, rawEnd   int
	view, viewEnd int
}

// view is data decoded: text, the spans where it differs, and pending, the
// start of an escape that data ends in the middle of (len(data) if none).
type view struct {
	text    []byte
	spans   []span
	pending int
}

// Wrap widths of base64 encoders: MIME and coreutils' base64 (76), PEM (64).
const (
	wrapMIME = 76
	wrapPEM  = 64
)

// Longest escapes held back when cut off: an entity with a code point padded
// with zeros (&#x0001F600;), a UTF-16 surrogate pair (\ud83d\ude00), a
// terminal sequence, and an operating system command (a title, a link).
const (
	maxEntity = 12
	maxCSI    = 64
	maxOSC    = 512
)

// decoder holds the state of one decode.
type decoder struct {
	data     []byte
	partial  bool // data may go on: an escape it cuts off is pending
	collapse bool // any whitespace with a line break in it reads as "\n"
	v        *view
	lit      int // start of the raw bytes not yet copied into v.text
}

// decode fills v with data decoded. prior is the line context at data[0]:
// the length of the run of base64 characters just before it (see
// lineAfter), for the wrap rule.
func decode(v *view, data []byte, prior int, partial, collapse bool) {
	v.text, v.spans, v.pending = v.text[:0], v.spans[:0], len(data)
	d := decoder{data: data, partial: partial, collapse: collapse, v: v}
	triggers := [...]byte{'%', '&', '\\', 0x1b, '\n'}
	var next [len(triggers)]int
	for i, c := range triggers[:4] {
		next[i] = indexFrom(data, 0, c)
	}
	next[4] = d.newline(0, prior)
	done := 0          // raw bytes before this are decided
	lineStart := 0     // start of the current line's content
	linePrior := prior // base64 characters of the current line before data
	for {
		i := 0
		for j := 1; j < len(next); j++ {
			if next[j] < next[i] {
				i = j
			}
		}
		p := next[i]
		if p >= len(data) {
			break
		}
		if p < done {
			next[i] = indexFrom(data, done, triggers[i])
			continue
		}
		var end int
		switch triggers[i] {
		case '%':
			end = d.percent(p)
		case '&':
			end = d.entity(p)
		case '\\':
			end = d.backslash(p)
		case 0x1b:
			end = d.terminal(p)
		case '\n':
			limit := len(data)
			for j, q := range next {
				if j != i {
					limit = min(limit, q)
				}
			}
			next[i] = d.lines(p, limit, &lineStart, &linePrior)
			done = max(done, lineStart)
			continue
		}
		if end < 0 {
			// Cut off: nothing from here on is decided.
			v.pending = p
			break
		}
		if end > p {
			done = end
		}
		next[i] = indexFrom(data, max(p+1, done), triggers[i])
	}
	if partial && v.pending == len(data) {
		// Whitespace the data ends in, with no line break yet, may still
		// become a line end that the view reads differently: it waits.
		start := len(data)
		for start > max(d.lit, lineStart) && isSpace(data[start-1]) {
			start--
		}
		if n := base64Run(data[lineStart:start], linePrior); start < len(data) && (d.collapse || n == wrapMIME || n == wrapPEM) {
			v.pending = start
		}
	}
	switch {
	case v.pending < len(data):
		// An empty span where the view stops: the tail before it must be
		// held like any other tail that may still become a form.
		d.add(v.pending, len(data))
	case len(v.spans) > 0:
		v.text = append(v.text, data[d.lit:]...)
	}
}

func indexFrom(data []byte, from int, c byte) int {
	if i := bytes.IndexByte(data[from:], c); i >= 0 {
		return from + i
	}
	return len(data)
}

// add records that raw[start:end] reads as text.
func (d *decoder) add(start, end int, text ...byte) {
	v := d.v
	v.text = append(v.text, d.data[d.lit:start]...)
	at := len(v.text)
	v.text = append(v.text, text...)
	v.spans = append(v.spans, span{raw: start, rawEnd: end, view: at, viewEnd: len(v.text)})
	d.lit = end
}

// cut reports an escape starting at p that the data ends inside of: -1
// (pending) if the data may go on, else p (the bytes stay as they are).
func (d *decoder) cut(p int) int {
	if d.partial {
		return -1
	}
	return p
}

// Each recognizer looks at an escape starting at p and returns where it
// ends after recording it, p if there is none, or -1 if the data ends in
// the middle of one that may still come.

func (d *decoder) percent(p int) int {
	data := d.data
	if p+3 <= len(data) {
		if h, ok := hexByte(data[p+1], data[p+2]); ok {
			d.add(p, p+3, h)
			return p + 3
		}
		return p
	}
	if p+1 == len(data) || isHex(data[p+1]) {
		return d.cut(p)
	}
	return p
}

// entityNames are the named entities XML defines (HTML's spellings of them
// in capitals included).
var entityNames = map[string]byte{"quot": '"', "apos": '\'', "amp": '&', "lt": '<', "gt": '>'}

func (d *decoder) entity(p int) int {
	data := d.data
	limit := min(len(data), p+maxEntity)
	semi := bytes.IndexByte(data[p+1:limit], ';')
	if semi < 0 {
		if limit == len(data) && entityPrefix(data[p+1:]) {
			return d.cut(p)
		}
		return p
	}
	name := data[p+1 : p+1+semi]
	end := p + 2 + semi
	if len(name) > 1 && name[0] == '#' {
		r, ok := codePoint(name[1:])
		if !ok {
			return p
		}
		var b [utf8.UTFMax]byte
		d.add(p, end, b[:utf8.EncodeRune(b[:], r)]...)
		return end
	}
	if c, ok := entityNames[string(bytes.ToLower(name))]; ok {
		d.add(p, end, c)
		return end
	}
	return p
}

// entityPrefix reports whether s (what follows an '&' up to the end of the
// data) could begin an entity.
func entityPrefix(s []byte) bool {
	if len(s) > 0 && s[0] == '#' {
		s = s[1:]
		if len(s) > 0 && (s[0] == 'x' || s[0] == 'X') {
			s = s[1:]
		}
		for _, c := range s {
			if !isHex(c) {
				return false
			}
		}
		return true
	}
	for name := range entityNames {
		if len(s) <= len(name) && bytes.EqualFold(s, []byte(name[:len(s)])) {
			return true
		}
	}
	return false
}

// codePoint reads the number of a numeric character reference: decimal,
// or hex after x or X.
func codePoint(s []byte) (rune, bool) {
	base := rune(10)
	if len(s) > 0 && (s[0] == 'x' || s[0] == 'X') {
		base, s = 16, s[1:]
	}
	if len(s) == 0 || len(s) > 8 {
		return 0, false
	}
	var r rune
	for _, c := range s {
		n, ok := digit(c, base)
		if !ok {
			return 0, false
		}
		r = r*base + n
	}
	return r, utf8.ValidRune(r)
}

func digit(c byte, base rune) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case base == 16 && c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case base == 16 && c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

func isHex(c byte) bool { _, ok := digit(c, 16); return ok }

func hexByte(a, b byte) (byte, bool) {
	x, ok1 := digit(a, 16)
	y, ok2 := digit(b, 16)
	return byte(x<<4 | y), ok1 && ok2
}

// backslashSimple are the one-character backslash escapes.
var backslashSimple = [256]byte{'"': '"', '\'': '\'', '\\': '\\', '/': '/', 'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f'}

func (d *decoder) backslash(p int) int {
	data := d.data
	if p+1 == len(data) {
		return d.cut(p)
	}
	switch c := data[p+1]; {
	case backslashSimple[c] != 0:
		d.add(p, p+2, backslashSimple[c])
		return p + 2
	case c == 'x':
		if p+4 > len(data) {
			return d.cut(p)
		}
		if h, ok := hexByte(data[p+2], data[p+3]); ok {
			d.add(p, p+4, h)
			return p + 4
		}
	case c == 'u':
		r, n := d.utf16(p)
		if n < 0 {
			return d.cut(p)
		}
		if n > 0 {
			var b [utf8.UTFMax]byte
			d.add(p, p+n, b[:utf8.EncodeRune(b[:], r)]...)
			return p + n
		}
	}
	return p
}

// utf16 reads \uXXXX at p, and the \uXXXX after it when the two are a
// surrogate pair. It returns the character and the length read, 0 for none,
// or -1 if the data ends inside one.
func (d *decoder) utf16(p int) (rune, int) {
	unit := func(at int) (rune, int) {
		if at+6 > len(d.data) {
			return 0, -1
		}
		if d.data[at] != '\\' || d.data[at+1] != 'u' {
			return 0, 0
		}
		var r rune
		for _, c := range d.data[at+2 : at+6] {
			n, ok := digit(c, 16)
			if !ok {
				return 0, 0
			}
			r = r<<4 | n
		}
		return r, 6
	}
	hi, n := unit(p)
	if n <= 0 {
		return 0, n
	}
	if hi < 0xd800 || hi > 0xdbff {
		if hi >= 0xdc00 && hi <= 0xdfff {
			return 0, 0
		}
		return hi, 6
	}
	lo, m := unit(p + 6)
	switch {
	case m < 0 && d.partial:
		return 0, -1
	case m <= 0 || lo < 0xdc00 || lo > 0xdfff:
		return 0, 0
	}
	return 0x10000 + (hi-0xd800)<<10 + (lo - 0xdc00), 12
}

// terminal drops an escape sequence: a control sequence (ESC [ ... final),
// an operating system command (ESC ] ... BEL or ESC \), or a two-byte one.
func (d *decoder) terminal(p int) int {
	data := d.data
	if p+1 == len(data) {
		return d.cut(p)
	}
	switch c := data[p+1]; {
	case c == '[':
		for i := p + 2; i < min(len(data), p+maxCSI); i++ {
			switch b := data[i]; {
			case b >= 0x40 && b <= 0x7e:
				d.add(p, i+1)
				return i + 1
			case b < 0x20 || b > 0x3f:
				return p
			}
		}
		if len(data) < p+maxCSI {
			return d.cut(p)
		}
	case c == ']':
		for i := p + 2; i < min(len(data), p+maxOSC); i++ {
			switch data[i] {
			case 0x07:
				d.add(p, i+1)
				return i + 1
			case 0x1b:
				if i+1 == len(data) {
					return d.cut(p)
				}
				if data[i+1] == '\\' {
					d.add(p, i+2)
					return i + 2
				}
				return p
			}
		}
		if len(data) < p+maxOSC {
			return d.cut(p)
		}
	case c >= 0x40 && c <= 0x5f:
		d.add(p, p+2)
		return p + 2
	}
	return p
}

// newline returns the first newline at or after from that the line rules
// must look at: with collapse on, any; else only one that ends a run of 64
// or 76 base64 characters (and whitespace), prior of them before data[0].
//
// Looking at every newline for the wrap rule alone cost more than all the
// rest of the decoding; instead it samples: every run of at least 64
// base64 characters holds whole one of the 8-byte words 56 bytes apart,
// and, 28 bytes before or after it, another. Each sample is a few word
// operations that do not wait on one another (a search that skipped ahead
// from what it read waited on every load: 8% of scrub's time), and only a
// pair that may lie in a run is looked at byte by byte.
func (d *decoder) newline(from, prior int) int {
	data := d.data
	if d.collapse {
		return indexFrom(data, from, '\n')
	}
	// ends returns the newline after a run that ends at e, if the run is
	// a full line of wrapped base64.
	ends := func(e int) (int, bool) {
		if n := base64Run(data[:e], prior); n != wrapPEM && n != wrapMIME {
			return 0, false
		}
		for ; e < len(data) && isSpace(data[e]); e++ {
			if data[e] == '\n' {
				return e, true
			}
		}
		return 0, false
	}
	if from == 0 && prior > 0 {
		e := 0
		for e < len(data) && isBase64(data[e]) {
			e++
		}
		if q, ok := ends(e); ok {
			return q
		}
		from = e
	}
	prior = 0
	const step, half = wrapPEM - 8, (wrapPEM - 8) / 2
	for m := from; m+8 <= len(data); {
		if !mayBeBase64(data[m:]) ||
			!(m-half >= from && mayBeBase64(data[m-half:]) || m+half+8 <= len(data) && mayBeBase64(data[m+half:])) {
			m += step
			continue
		}
		// The runs through data[m:m+8], whole: the next one starts past e.
		e := m
		for e < m+8 {
			if !isBase64(data[e]) {
				e++
				continue
			}
			s := e
			for s > from && isBase64(data[s-1]) {
				s--
			}
			for e < len(data) && isBase64(data[e]) {
				e++
			}
			if e-s >= wrapPEM {
				if q, ok := ends(e); ok {
					return q
				}
			}
		}
		m = e
	}
	return len(data)
}

// mayBeBase64 reports whether the first eight bytes of b may all be base64
// characters: none is below '+' (whitespace, most punctuation), '.' or ':'.
// The lowest flag each test sets is exact (borrows only run upwards), so a
// word with such a byte always has a flag.
func mayBeBase64(b []byte) bool {
	w := binary.LittleEndian.Uint64(b)
	return below(w, 0x2b)|below(w^0x2e2e2e2e2e2e2e2e, 1)|below(w^0x3a3a3a3a3a3a3a3a, 1) == 0
}

// below flags, in their top bits, the bytes of w (taken as eight) that are
// less than c (at most 0x80): exactly for the lowest such byte, perhaps
// falsely above it.
func below(w uint64, c byte) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return (w - ones*uint64(c)) &^ w & highs
}

// lines handles the newlines from p on, up to limit (the next escape), and
// returns the first newline at or past limit. lineStart and prior are the
// line context, kept up to date. Most newlines need no span, and are let
// through with a look at the bytes on either side.
func (d *decoder) lines(p, limit int, lineStart, prior *int) int {
	data, ls, pr := d.data, *lineStart, *prior
	for p < limit {
		start, end, floor := p, p+1, max(d.lit, ls)
		for start > floor && byteClass[data[start-1]]&classSpace != 0 {
			start--
		}
		wrapped := start-ls+pr >= wrapPEM && plausibleRun(data[ls:start])
		spaced := d.collapse && (start < p || end < len(data) && byteClass[data[end]]&classSpace != 0)
		if wrapped || spaced {
			for end < len(data) && byteClass[data[end]]&classSpace != 0 {
				end++
			}
			if !d.lineBreak(start, end, ls, pr) {
				end = p + 1 // the newline stays as it is
			}
		}
		ls, pr = end, 0
		p = d.newline(end, 0)
	}
	*lineStart, *prior = ls, pr
	return p
}

// plausibleRun is a quick look at whether line may end in a run of at least
// 64 base64 characters: five bytes of the last 64 must all be. (A line
// shorter than that, after base64 before the data, is looked at in full.)
func plausibleRun(line []byte) bool {
	n := len(line)
	if n < wrapPEM {
		return true
	}
	t := &byteClass
	return t[line[n-1]]&t[line[n-16]]&t[line[n-32]]&t[line[n-48]]&t[line[n-64]]&classBase64 != 0
}

// lineBreak handles the whitespace raw[start:end] at a line end: it goes
// when the line before it ends in a full line of wrapped base64 (a run of
// 64 or 76 base64 characters), and with collapse on, any other whitespace
// with a line break in it reads as one "\n". It reports whether it
// recorded a span.
func (d *decoder) lineBreak(start, end, lineStart, prior int) bool {
	if n := base64Run(d.data[lineStart:start], prior); n == wrapMIME || n == wrapPEM {
		d.add(start, end)
		return true
	}
	if d.collapse && (end-start > 1 || d.data[start] != '\n') {
		d.add(start, end, '\n')
		return true
	}
	return false
}

// base64Run returns the length of the run of base64 characters that line
// ends in, counting prior ones before it if the run reaches its start;
// past the widest wrap, every length is wrapMIME+1.
func base64Run(line []byte, prior int) int {
	n := 0
	for i := len(line) - 1; i >= 0 && isBase64(line[i]); i-- {
		if n++; n > wrapMIME {
			return wrapMIME + 1
		}
	}
	if n == len(line) {
		n += prior
	}
	return min(n, wrapMIME+1)
}

// lineAfter returns the line context after data, given prior before it.
func lineAfter(data []byte, prior int) int {
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data, prior = data[i+1:], 0
	}
	return base64Run(data, prior)
}

// byteClass classes bytes for the line rules: a table, not comparisons,
// because the rules look at bytes around every newline.
var byteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\r\n\v\f") {
		t[c] |= classSpace
	}
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_") {
		t[c] |= classBase64
	}
	return t
}()

const (
	classSpace = 1 << iota
	classBase64
)

func isSpace(c byte) bool  { return byteClass[c]&classSpace != 0 }
func isBase64(c byte) bool { return byteClass[c]&classBase64 != 0 }

// rawStart maps the view offset q to the raw offset of the byte it was
// decoded from.
func (v *view) rawStart(q int) int {
	s, ok := v.spanAt(q)
	switch {
	case !ok:
		return q
	case q < s.viewEnd:
		return s.raw
	}
	return s.rawEnd + q - s.viewEnd
}

// rawEnd maps the end of a stretch of the view (exclusive) to the raw end.
func (v *view) rawEnd(e int) int {
	s, ok := v.spanAt(e - 1)
	switch {
	case !ok:
		return e
	case e-1 < s.viewEnd:
		return s.rawEnd
	}
	return s.rawEnd + e - s.viewEnd
}

// spanAt returns the last span starting at or before view offset q: the
// one that holds q, or the one q follows.
func (v *view) spanAt(q int) (span, bool) {
	i, _ := slices.BinarySearchFunc(v.spans, q+1, func(s span, q int) int { return cmp.Compare(s.view, q) })
	if i == 0 {
		return span{}, false
	}
	return v.spans[i-1], true
}
