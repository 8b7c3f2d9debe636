package rules

import (
	"encoding/base64"
	"slices"
)

// mayDecode reports whether gitleaks' decoder could find, in one line, a
// segment that decodes to something. It is a cheap, conservative stand-in
// for running the decoder's patterns: it follows how they cut a line into
// segments (a percent segment runs from the first %XX to the last; a run of
// [\w/+-] is hex while it reads as 32 or more hex digits, then base64) and
// applies the decoder's acceptance tests (printable ASCII out). Unicode
// escapes are always left to the decoder itself.
func mayDecode(line []byte) bool {
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && (line[i+1] == 'u' || line[i+1] == 'U') && hex4(line, i+2):
			return true
		case line[i] == 'U' && i+1 < len(line) && line[i+1] == '+' && hex4(line, i+2):
			return true
		}
	}
	spanStart, spanEnd := percentSpan(line)
	if spanStart >= 0 && percentDecodes(line[spanStart:spanEnd]) {
		return true
	}
	for i := 0; i < len(line); {
		if spanStart >= 0 && i >= spanStart && i < spanEnd {
			i = spanEnd
			continue
		}
		if !base64Byte[line[i]] {
			i++
			continue
		}
		j := i
		for j < len(line) && base64Byte[line[j]] {
			j++
		}
		if runDecodes(line[i:j], line[j:]) {
			return true
		}
		i = j
	}
	return false
}

// percentSpan returns where the decoder's percent segment lies on a line:
// from the first %XX to the end of the last; -1, -1 when there is none.
func percentSpan(line []byte) (int, int) {
	start, end := -1, -1
	for i := 0; i+2 < len(line); i++ {
		if line[i] == '%' && hexByte[line[i+1]] && hexByte[line[i+2]] {
			if start < 0 {
				start = i
			}
			end = i + 3
		}
	}
	return start, end
}

// percentDecodes follows gitleaks' percent decoding: it fails when any
// escape decodes to a byte that is not printable.
func percentDecodes(seg []byte) bool {
	for i := 0; i < len(seg); i++ {
		if seg[i] == '%' && i+2 < len(seg) && hexByte[seg[i+1]] && hexByte[seg[i+2]] {
			if !printable(unhex(seg[i+1])<<4 | unhex(seg[i+2])) {
				return false
			}
			i += 2
		}
	}
	return true
}

// runDecodes tells whether a maximal [\w/+-] run, followed by rest, holds a
// hex or base64 segment that decodes to printable text.
func runDecodes(run, rest []byte) bool {
	h := 0
	for h < len(run) && hexByte[run[h]] {
		h++
	}
	if h >= 32 {
		if hexDecodes(run[:h]) {
			return true
		}
		run = run[h:]
	}
	if len(run) < 16 {
		return false
	}
	pad := 0
	for pad < 2 && pad < len(rest) && rest[pad] == '=' {
		pad++
	}
	seg := make([]byte, 0, len(run)+pad)
	seg = append(append(seg, run...), rest[:pad]...)
	return base64Decodes(seg)
}

func hexDecodes(seg []byte) bool {
	if len(seg)%2 != 0 || !slices.ContainsFunc(seg, isDigit) {
		return false
	}
	for i := 0; i < len(seg); i += 2 {
		if !printable(unhex(seg[i])<<4 | unhex(seg[i+1])) {
			return false
		}
	}
	return true
}

func base64Decodes(seg []byte) bool {
	if !slices.ContainsFunc(seg, func(b byte) bool { return likelyByte[b] }) {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		out := make([]byte, enc.DecodedLen(len(seg)))
		n, err := enc.Decode(out, seg)
		if err == nil && printableAll(out[:n]) {
			return true
		}
	}
	return false
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// printable is gitleaks' test for decoded bytes: tab through tilde.
func printable(b byte) bool { return '\x08' < b && b < '\x7f' }

func printableAll(bs []byte) bool {
	for _, b := range bs {
		if !printable(b) {
			return false
		}
	}
	return true
}

func unhex(b byte) byte {
	switch {
	case '0' <= b && b <= '9':
		return b - '0'
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10
	}
	return b - 'A' + 10
}
