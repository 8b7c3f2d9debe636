package rules

import (
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
			if !r.rules[i].plan.follow.ok(c.Data, pos) {
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
	texts map[textKey][]byte
	size  int
}

type textKey struct{ from, to, depth int }

const maxMemo = 16 << 20

// runesText returns lines from..to after depth rounds of decoding, as RE2
// reads them (see runes).
func (d decoded) runesText(c *detect.Chunk, from, to, depth int) []byte {
	k := textKey{from, to, depth}
	if t, ok := d.memo.texts[k]; ok {
		return t
	}
	t, _ := runes(d.text(c, from, to, depth))
	if d.memo.texts == nil {
		d.memo.texts = map[textKey][]byte{}
	}
	if d.memo.size+len(t) <= maxMemo {
		d.memo.texts[k] = t
		d.memo.size += len(t)
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
	lastLine := -1
	for i := 0; i < len(data); {
		if runClass[data[i]] == 0 {
			i++ // neither a token nor an escape: no call
			continue
		}
		end, ok := encodedCandidate(data, i)
		if !ok {
			i = end
			continue
		}
		first, last := c.LineIndex(i), c.LineIndex(max(i, end-1))
		i = end
		if last <= lastLine {
			continue
		}
		from := max(first, lastLine+1)
		lastLine = last
		line := data[c.LineStart(from):c.LineEnd(last)]
		if !mayDecode(line) {
			continue
		}
		versions := r.decode(string(line), func(rule int) {
			for l := from; l <= last; l++ {
				out.byRule[rule] = append(out.byRule[rule], l)
			}
		})
		if len(versions) > 0 {
			out.groups = append(out.groups, decodedGroup{from, last, versions})
		}
	}
	return out
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
	decoder := codec.NewDecoder()
	seen := map[int]bool{}
	var segments []*codec.EncodedSegment
	current := text
	for range r.depth {
		current, segments = decoder.Decode(current, segments)
		if len(segments) == 0 {
			break
		}
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
	runClass   [256]uint8 // base64Run, with likelyRun for a likely byte; escapeByte
)

const (
	base64Run = 1 << iota
	likelyRun
	escapeByte // '%' and '\\' begin the escapes the decoder reads
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		isAlnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		base64Byte[c] = isAlnum || b == '_' || b == '/' || b == '+' || b == '-'
		likelyByte[c] = '0' <= b && b <= '9' || b == '+' || b == '/' || b == '-' || b == '_'
		hexByte[c] = '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
		if b == '%' || b == '\\' {
			runClass[c] = escapeByte
		}
		if base64Byte[c] {
			runClass[c] = base64Run
			if likelyByte[c] {
				runClass[c] |= likelyRun
			}
		}
	}
}

// encodedCandidate looks at data[i:] and reports where the token there ends
// and whether gitleaks' decoder could find a segment in it.
func encodedCandidate(data []byte, i int) (end int, ok bool) {
	b := data[i]
	switch {
	case b == '%':
		return i + 1, i+2 < len(data) && hexByte[data[i+1]] && hexByte[data[i+2]]
	case b == '\\':
		j := i
		for j < len(data) && data[j] == '\\' {
			j++
		}
		return j, j < len(data) && (data[j] == 'u' || data[j] == 'U') && hex4(data, j+1)
	case b == 'U' && i+1 < len(data) && data[i+1] == '+' && hex4(data, i+2):
		return i + 2, true
	case base64Byte[b]:
		// One table load a byte: this loop reads most of every chunk.
		j, seen := i, uint8(0)
		for ; j < len(data); j++ {
			c := runClass[data[j]]
			if c&base64Run == 0 {
				break
			}
			seen |= c
		}
		return max(j, i+1), seen&likelyRun != 0 && j-i >= 16
	}
	return i + 1, false
}

func hex4(data []byte, i int) bool {
	if i+4 > len(data) {
		return false
	}
	for _, b := range data[i : i+4] {
		if !hexByte[b] {
			return false
		}
	}
	return true
}
