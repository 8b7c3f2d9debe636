package rules

import (
	"bytes"

	"github.com/zricethezav/gitleaks/v8/detect/codec"

	"github.com/secretgate/secretgate/scanner/detect"
)

// window is a range of line indexes within a chunk, both ends included.
type window struct{ from, to int }

// windows returns, for each rule (by index), the merged line windows around
// its keywords in c (nil for a rule with nothing to do).
func (r *Rules) windows(c *detect.Chunk) [][]window {
	wins := make([][]window, len(r.rules))
	last := len(c.Newlines()) // index of the chunk's last line
	add := func(i, line int) {
		p := r.rules[i].plan
		if p.whole {
			if wins[i] == nil {
				wins[i] = []window{{0, last}}
			}
			return
		}
		w := window{max(0, line-p.linesBefore), min(last, line+p.linesAfter)}
		ws := wins[i]
		if n := len(ws); n > 0 && w.from <= ws[n-1].to+1 {
			ws[n-1].to = max(ws[n-1].to, w.to)
			ws[n-1].from = min(ws[n-1].from, w.from)
			return
		}
		wins[i] = append(ws, w)
	}
	for _, i := range r.always {
		add(i, 0)
	}

	cursor := lineCursor{c: c}
	r.keywords.each(c.Data, func(pos, k int) {
		line := -1
		for _, i := range r.byKeyword[k] {
			p, kw := &r.rules[i].plan, r.keywords.words[k]
			if !p.follow.ok(c.Data, pos, len(kw)) || !p.leads(c.Data, pos, kw) {
				continue
			}
			if line < 0 {
				line = cursor.line(pos)
			}
			add(i, line)
		}
	})

	return wins
}

// lineCursor finds line indexes for ascending offsets in one pass.
type lineCursor struct {
	c    *detect.Chunk
	i    int
	prev int
}

func (lc *lineCursor) line(off int) int {
	nl := lc.c.Newlines()
	if off < lc.prev {
		lc.i = lc.c.LineIndex(off)
	}
	for lc.i < len(nl) && nl[lc.i] < off {
		lc.i++
	}
	lc.prev = off
	return lc.i
}

// decoded lists the groups of lines in a chunk where gitleaks' decoder
// finds segments (base64, hex, percent or unicode escapes), with their
// decoded text, and for each rule the lines whose decoded text holds one of
// its keywords.
type decoded struct {
	groups []decodedGroup // ascending
	byRule [][]int        // rule index -> ascending lines
	memo   *textMemo
}

// textMemo keeps the decoded texts of windows that rules asked for, as RE2
// reads them: rules share windows (those without keywords, the whole
// chunk), and building and searching the whole chunk at every depth for
// each was half of the detector's time on keyword-dense source. It keeps
// at most maxMemo bytes; past that, texts are built for each caller.
type textMemo struct {
	texts map[textKey]decodedText
	size  int
}

type textKey struct{ from, to, depth int }

// decodedText is a decoded text as RE2 reads it (see runes), and whether
// that is the text itself: where it is, a match's secret is what gitleaks
// measures.
type decodedText struct {
	text  []byte
	valid bool
}

const maxMemo = 16 << 20

// runesText returns lines from..to after depth rounds of decoding, as RE2
// reads them (see runes).
func (d decoded) runesText(c *detect.Chunk, from, to, depth int) decodedText {
	k := textKey{from, to, depth}
	if t, ok := d.memo.texts[k]; ok {
		return t
	}
	text, valid := runes(d.text(c, from, to, depth))
	t := decodedText{text, valid}
	if d.memo.texts == nil {
		d.memo.texts = map[textKey]decodedText{}
	}
	if d.memo.size+len(text) <= maxMemo {
		d.memo.texts[k] = t
		d.memo.size += len(text)
	}
	return t
}

// rounds returns how many rounds of decoding change lines from..to: the
// text after more rounds is the text after that many.
func (d decoded) rounds(from, to int) int {
	n := 0
	for _, g := range d.groups {
		if g.to >= from && g.from <= to {
			n = max(n, len(g.versions))
		}
	}
	return n
}

// decodedGroup is a run of lines and their text after each round of
// decoding (versions[0] after the first).
type decodedGroup struct {
	from, to int
	versions []string
}

// decodedLines finds candidates with a byte scan that accepts at least every
// segment the decoder's own patterns accept (see mayDecode), then decodes
// each candidate line with gitleaks' decoder, DecodeDepth rounds deep.
func (r *Rules) decodedLines(c *detect.Chunk) decoded {
	out := decoded{byRule: make([][]int, len(r.rules)), memo: &textMemo{}}
	data := c.Data
	esc := escapes{data: data, percent: -1, back: -1, plus: -1}
	rs, re := nextRun(data, 0)
	es, ee := esc.next(0)
	lastLine := -1
	for rs < len(data) || es < len(data) {
		var start, end int
		if rs <= es {
			start, end = rs, re
		} else {
			start, end = es, ee
		}
		first, last := c.LineIndex(start), c.LineIndex(max(start, end-1))
		from := max(first, lastLine+1)
		// Candidates on lines already decoded are skipped unread.
		next := end
		if last > lastLine {
			lastLine = last
			line := data[c.LineStart(from):c.LineEnd(last)]
			if mayDecode(line) {
				versions := r.decode(string(line), func(rule int) {
					for l := from; l <= last; l++ {
						out.byRule[rule] = append(out.byRule[rule], l)
					}
				})
				if len(versions) > 0 {
					out.groups = append(out.groups, decodedGroup{from, last, versions})
				}
			}
			next = max(next, c.LineEnd(last))
		}
		if start == rs {
			rs, re = nextRun(data, next)
		}
		if start == es || es < next {
			es, ee = esc.next(max(start+1, next))
		}
	}
	return out
}

// nextRun returns the first run of [\w/+-] at or after i (data[i-1], if
// any, is not in one) that gitleaks' base64 or hex pattern could take and
// decode: 16 bytes or more, holding a byte of gitleaks' likely set (a digit
// or one of +/-_); len(data), len(data) when there is none.
//
// Such a run covers data[i+15] if it starts within 16 bytes of i, so the
// scan looks there first and skips 16 bytes when it is no token byte; in
// source code that reads about a third of the bytes instead of all of
// them (issue 15).
func nextRun(data []byte, i int) (start, end int) {
	for i+16 <= len(data) {
		p := i + 15
		if !base64Byte[data[p]] {
			i = p + 1
			continue
		}
		s := p
		for s > i && base64Byte[data[s-1]] {
			s--
		}
		e := p + 1
		likely := false
		for e < len(data) && base64Byte[data[e]] {
			e++
		}
		if e-s >= 16 {
			for _, b := range data[s:e] {
				if likelyByte[b] {
					likely = true
					break
				}
			}
			if likely {
				return s, e
			}
		}
		i = e + 1 // data[e] is no token byte
	}
	return len(data), len(data)
}

// escapes finds, in ascending order, where gitleaks' decoder reads an
// escape: %XX, and its Unicode escapes as its own pattern reads them
// (escapesEnd, codePointsEnd), wherever they stand (a run of word bytes
// does not hide a U+XXXX glued to it: gitleaks reads it). Each kind is
// looked for with bytes.IndexByte and remembered until passed.
type escapes struct {
	data                []byte
	percent, back, plus int // next '%', '\\', '+' at or after the last ask; -1 before
}

// next returns the first escape that starts at or after from, as
// [start, end); len(data), len(data) when there is none.
func (e *escapes) next(from int) (start, end int) {
	d := e.data
	find := func(at *int, b byte, from int) {
		if *at >= from || *at == len(d) {
			return
		}
		if i := bytes.IndexByte(d[min(from, len(d)):], b); i >= 0 {
			*at = from + i
		} else {
			*at = len(d)
		}
	}
	for {
		find(&e.percent, '%', from)
		find(&e.back, '\\', from)
		// A U+XXXX is found by its '+', which may open a line.
		find(&e.plus, '+', from+1)
		p := min(e.percent, e.back, e.plus-1)
		switch {
		case p >= len(d)-1:
			return len(d), len(d)
		case p == e.percent:
			if p+2 < len(d) && hexByte[d[p+1]] && hexByte[d[p+2]] {
				return p, p + 3
			}
		case p == e.back:
			if end := escapesEnd(d, p); end > p {
				return p, end
			}
		default: // the '+' at p+1
			if end := codePointsEnd(d, p); end > p {
				return p, end
			}
		}
		from = p + 1
	}
}

// text returns lines [from, to] of c as they read after depth rounds of
// decoding.
func (d decoded) text(c *detect.Chunk, from, to, depth int) []byte {
	var b []byte
	at := from
	for _, g := range d.groups {
		if g.to < from || g.from > to {
			continue
		}
		b = append(b, c.Data[c.LineStart(at):c.LineStart(g.from)]...)
		b = append(b, g.versions[min(depth, len(g.versions))-1]...)
		at = g.to + 1
	}
	return append(b, c.Data[c.LineStart(at):c.LineEnd(to)]...)
}

// decode decodes text as gitleaks would, returning its text after each
// round that changed it, and calls fn for each rule whose keyword occurs in
// any round of decoded text.
func (r *Rules) decode(text string, fn func(rule int)) (versions []string) {
	seen := map[int]bool{}
	dec := codec.NewDecoder()
	current := text
	for range r.depth {
		next, decoded := decodeRound(dec, current)
		if !decoded {
			break
		}
		current = next
		versions = append(versions, current)
		r.keywords.each([]byte(current), func(_, k int) {
			for _, i := range r.byKeyword[k] {
				if !seen[i] {
					seen[i] = true
					fn(i)
				}
			}
		})
	}
	if len(versions) > 0 {
		for _, i := range r.always {
			if !seen[i] {
				fn(i)
			}
		}
	}
	return versions
}

var (
	base64Byte [256]bool // [\w/+-]: what gitleaks' base64 and hex patterns take
	likelyByte [256]bool // a run must hold one to decode (gitleaks' likely chars)
	hexByte    [256]bool
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		isAlnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		base64Byte[c] = isAlnum || b == '_' || b == '/' || b == '+' || b == '-'
		likelyByte[c] = '0' <= b && b <= '9' || b == '+' || b == '/' || b == '-' || b == '_'
		hexByte[c] = '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
	}
}

func hex4[T string | []byte](data T, i int) bool {
	if i+4 > len(data) {
		return false
	}
	for j := i; j < i+4; j++ {
		if !hexByte[data[j]] {
			return false
		}
	}
	return true
}
