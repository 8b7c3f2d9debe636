package rules

import (
	"strings"

	"github.com/zricethezav/gitleaks/v8/detect/codec"
)

// decodeRound is one round of gitleaks' decoder (codec.Decoder.Decode) over
// text: the text with each segment it decodes replaced, and whether it
// decoded any. The result is the decoder's own, byte for byte
// (FuzzDecodeRound); only the search for segments is done here.
//
// gitleaks finds segments with one Go regexp of four alternatives, whose
// ".*" and alternation cost 250-350 ns a byte: 9% of a scan of GOROOT/src,
// whose entity tables are lines of Unicode escapes (issue 15). Here a
// segment is found by reading the bytes as the regexp would, and each is
// then decoded by gitleaks' own decoder, alone: a segment read alone is one
// match of the same alternative, whole (see findSegments).
//
// dec is gitleaks' decoder, which keeps what it decoded: one may serve every
// round of a text.
func decodeRound(dec *codec.Decoder, text string) (string, bool) {
	segs := findSegments(text)
	if len(segs) == 0 {
		return text, false
	}
	var b strings.Builder
	at, decoded := 0, false
	for _, s := range segs {
		out, found := dec.Decode(text[s.start:s.end], nil)
		if len(found) == 0 {
			continue // the decoder drops a segment that decodes to nothing
		}
		b.WriteString(text[at:s.start])
		b.WriteString(out)
		at, decoded = s.end, true
	}
	if !decoded {
		return text, false
	}
	b.WriteString(text[at:])
	return b.String(), true
}

// segment is a stretch of text that one of the decoder's patterns matches;
// rank is the pattern's precedence (percent 4, unicode 3, hex 2, base64 1).
type segment struct{ start, end, rank int }

// findSegments finds what the decoder's regexp finds, leftmost first, the
// earlier alternative first at one position, each match greedy:
//
//	%[0-9A-Fa-f]{2}(?:.*%[0-9A-Fa-f]{2})?
//	(?:U\+[a-fA-F0-9]{4}(?:\s|$))+ | (?i)(?:\\{1,2}u[a-fA-F0-9]{4})+
//	[0-9A-Fa-f]{32,}
//	[\w\/+-]{16,}={0,2}
//
// and then drops, as the decoder does, a match touching a neighbour of
// higher precedence.
func findSegments(s string) []segment {
	var all []segment
	for p := 0; p < len(s); {
		seg, ok := nextSegment(s, p)
		if !ok {
			break
		}
		all = append(all, seg)
		p = seg.end
	}
	if len(all) < 2 {
		return all
	}
	touches := func(a, b segment) bool { return b.start <= a.end && b.end >= a.start }
	kept := make([]segment, 0, len(all))
	for i, m := range all {
		if i > 0 && touches(m, all[i-1]) && all[i-1].rank > m.rank ||
			i+1 < len(all) && touches(m, all[i+1]) && all[i+1].rank > m.rank {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// nextSegment returns the leftmost match at or after p.
func nextSegment(s string, p int) (segment, bool) {
	for q := p; q < len(s); q++ {
		switch c := s[q]; {
		case c == '%':
			if q+2 < len(s) && hexByte[s[q+1]] && hexByte[s[q+2]] {
				return segment{q, percentEnd(s, q), 4}, true
			}
			continue
		case c == 'U':
			if e := codePointsEnd(s, q); e > q {
				return segment{q, e, 3}, true
			}
		case c == '\\':
			if e := escapesEnd(s, q); e > q {
				return segment{q, e, 3}, true
			}
			continue
		}
		// Within a run of [\w/+-] that failed at its first byte, every
		// later byte fails too: its run is shorter.
		if !base64Byte[s[q]] || q > p && base64Byte[s[q-1]] {
			continue
		}
		h := q
		for h < len(s) && hexByte[s[h]] {
			h++
		}
		if h-q >= 32 {
			return segment{q, h, 2}, true
		}
		e := q
		for e < len(s) && base64Byte[s[e]] {
			e++
		}
		if e-q >= 16 {
			for pad := 0; pad < 2 && e < len(s) && s[e] == '='; pad++ {
				e++
			}
			return segment{q, e, 1}, true
		}
	}
	return segment{}, false
}

// percentEnd is where the percent pattern's match at q ends: after the
// last %XX before the line ends (".*" takes no newline), or after the
// first.
func percentEnd(s string, q int) int {
	end := q + 3
	for i := q + 3; i+2 < len(s) && s[i] != '\n'; i++ {
		if s[i] == '%' && hexByte[s[i+1]] && hexByte[s[i+2]] {
			end = i + 3
		}
	}
	return end
}

// codePointsEnd is where (?:U\+XXXX(?:\s|$))+ matching at q ends; q when
// it does not match.
func codePointsEnd[T string | []byte](s T, q int) int {
	e := q
	for e+6 <= len(s) && s[e] == 'U' && s[e+1] == '+' && hex4(s, e+2) {
		switch after := e + 6; {
		case after == len(s):
			return after // $
		case isSpace(s[after]):
			e = after + 1
		default:
			return e
		}
	}
	return e
}

// escapesEnd is where (?i)(?:\\{1,2}u[a-fA-F0-9]{4})+ matching at q ends; q
// when it does not match. Two backslashes are tried before one.
func escapesEnd[T string | []byte](s T, q int) int {
	e := q
	for {
		switch {
		case e+7 <= len(s) && s[e] == '\\' && s[e+1] == '\\' && (s[e+2] == 'u' || s[e+2] == 'U') && hex4(s, e+3):
			e += 7
		case e+6 <= len(s) && s[e] == '\\' && (s[e+1] == 'u' || s[e+1] == 'U') && hex4(s, e+2):
			e += 6
		default:
			return e
		}
	}
}

// isSpace is RE2's \s.
func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\f' || b == '\r' }
