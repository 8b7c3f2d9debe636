package rules

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// unbounded stands for "no finite bound" in newline counts.
const unbounded = 1 << 20

// plan says where a rule's regex has to run for its findings to equal what
// gitleaks reports when it runs the regex over a whole fragment.
//
// gitleaks runs a rule's regex over a whole 100 KB fragment whenever one of
// the rule's keywords occurs anywhere in it. Most of that work is wasted: a
// match of a default rule always contains one of its keywords, and spans a
// bounded number of lines. When both facts can be proven from the regex
// itself, running it over the lines around each keyword occurrence finds the
// same matches. A rule for which either fact cannot be proven runs over the
// whole chunk, as gitleaks does.
type plan struct {
	// linesBefore and linesAfter bound, in lines, how far a match reaches
	// before and after the keyword occurrence it contains.
	linesBefore, linesAfter int
	// whole means the rule runs over the whole chunk once any of its
	// keywords occurs in it (nothing could be proven).
	whole bool
	// follow, when set, is a further necessary condition on a keyword
	// occurrence: one of a few bytes must come soon after it.
	follow *follow
	// bounded holds the keywords that a match holds only right after a
	// word boundary (\bsc_...): where a word byte comes before one, it is
	// no candidate ("desc_" is no "sc_").
	bounded map[string]bool
}

// leads reports whether the keyword kw at data[pos:] may begin a match as
// far as bounded tells.
func (p *plan) leads(data []byte, pos int, kw string) bool {
	return !p.bounded[kw] || pos == 0 || !isWordByte(data[pos-1])
}

// isWordByte is RE2's \w, which its \b reads.
func isWordByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_'
}

// follow says that after a keyword occurrence, and within reach bytes of
// its start, run bytes in set must begin, for the occurrence to be part of
// a match. For gitleaks' generic rules that is the assignment operator
// after the key name: "key" in running text is no candidate. For a token
// rule it is the token's body: vault-service-token's "s." must be followed
// by 24 letters or digits, which "s.Field" in Go source is not.
type follow struct {
	reach int
	run   int // at least 1
	set   [256]bool
}

// ok reports whether the keyword of n bytes at data[pos:] meets the
// condition.
func (f *follow) ok(data []byte, pos, n int) bool {
	if f == nil {
		return true
	}
	for q := pos + n; q < len(data) && q <= pos+f.reach; q++ {
		if !f.set[data[q]] {
			continue
		}
		if q+f.run > len(data) {
			return true // the chunk ends first: no telling
		}
		j := q + 1
		for j < q+f.run && f.set[data[j]] {
			j++
		}
		if j == q+f.run {
			return true
		}
	}
	return false
}

// newPlan analyses a rule's regex source. keywords are lower case.
func newPlan(expr string, keywords []string) plan {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return plan{whole: true}
	}
	total := newlines(re)
	if total >= unbounded {
		return plan{whole: true}
	}
	before, f, bounded, ok := prove(re, keywords)
	if !ok {
		return plan{whole: true}
	}
	return plan{linesBefore: before, linesAfter: total, follow: f, bounded: bounded}
}

// prove looks for a part of re that every match must pass through and that
// only matches strings holding a keyword; it returns how many newlines a
// match can hold up to the end of that part.
func prove(re *syntax.Regexp, keywords []string) (before int, f *follow, bounded map[string]bool, ok bool) {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op == syntax.OpAlternate {
		union := &follow{run: unbounded}
		for i, alt := range re.Sub {
			b, af, ab, ok := prove(alt, keywords)
			if !ok {
				return 0, nil, nil, false
			}
			before = max(before, b)
			// A keyword is bounded through every alternative, or not.
			if i == 0 {
				bounded = ab
			}
			for k := range bounded {
				if !ab[k] {
					delete(bounded, k)
				}
			}
			if union != nil && af != nil {
				union.reach = max(union.reach, af.reach)
				union.run = min(union.run, af.run)
				for i, in := range af.set {
					union.set[i] = union.set[i] || in
				}
			} else {
				union = nil
			}
		}
		return before, union, bounded, true
	}
	parts := flatten(re, nil)
	for i, part := range parts {
		// Parsing factors alternations ("AKIA|ASIA" becomes "A(?:KIA|SIA)"),
		// so a keyword can be spread over a few consecutive parts.
		set, nl, size := []string{""}, before, 0
		for j := i; j < len(parts) && j < i+6; j++ {
			next, ok := literals(parts[j], 256)
			if !ok || len(set)*len(next) > 256 {
				break
			}
			set = product(set, next)
			nl += newlines(parts[j])
			size = min(size+maxBytes(parts[j]), unbounded)
			if allContainKeyword(set, keywords) {
				var bounded map[string]bool
				if part.Op == syntax.OpWordBoundary {
					bounded = atStart(set, keywords)
				}
				return nl, followOf(size, parts[j+1:]), bounded, true
			}
		}
		if part.Op == syntax.OpAlternate {
			// What follows the keyword within each alternative is
			// necessary for a match through it, whatever comes after.
			if b, f, bounded, ok := prove(part, keywords); ok {
				return before + b, f, bounded, true
			}
		}
		before += newlines(part)
		if before >= unbounded {
			return 0, nil, nil, false
		}
	}
	return 0, nil, nil, false
}

// atStart returns the keywords that begin with a word byte and occur in
// the literals (which a word boundary precedes) at their start only: a
// match holds such a keyword right after a word boundary, so no word byte
// comes before it.
func atStart(literals, keywords []string) map[string]bool {
	out := map[string]bool{}
	for _, k := range keywords {
		if k == "" || !isWordByte(k[0]) {
			continue
		}
		out[k] = true
		for _, s := range literals {
			if i := strings.LastIndex(s, k); i > 0 {
				delete(out, k)
				break
			}
		}
	}
	return out
}

// followOf finds the first part after a keyword literal of at most reach
// bytes (folded letters included) that must match something, past parts of
// bounded length that may match nothing, and returns the bytes it can
// start with as a follow; nil when there is none to be had.
func followOf(reach int, rest []*syntax.Regexp) *follow {
	if reach >= unbounded {
		return nil
	}
	for _, part := range rest {
		if canEmpty(part) {
			n := maxBytes(part)
			if n >= unbounded {
				return nil
			}
			reach += n
			continue
		}
		f := &follow{reach: reach, run: leadRun(part)}
		if !firstBytes(part, &f.set) {
			return nil
		}
		return f
	}
	return nil
}

// maxBytes bounds the length in bytes of a match of re.
func maxBytes(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			n += utf8.RuneLen(r)
			if re.Flags&syntax.FoldCase != 0 {
				n += 3 // a fold may be longer (K, the Kelvin sign, for k)
			}
		}
		return n
	case syntax.OpCharClass:
		if len(re.Rune) > 0 && re.Rune[len(re.Rune)-1] < utf8.RuneSelf {
			return 1
		}
		return utf8.UTFMax
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpCapture, syntax.OpQuest:
		return maxBytes(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, sub := range re.Sub {
			n = min(n+maxBytes(sub), unbounded)
		}
		return n
	case syntax.OpAlternate:
		n := 0
		for _, sub := range re.Sub {
			n = max(n, maxBytes(sub))
		}
		return n
	case syntax.OpStar, syntax.OpPlus:
		return unbounded
	case syntax.OpRepeat:
		if re.Max < 0 {
			return unbounded
		}
		return min(re.Max*maxBytes(re.Sub[0]), unbounded)
	}
	return 0
}

// canEmpty reports whether re can match the empty string.
func canEmpty(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return canEmpty(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !canEmpty(sub) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if canEmpty(sub) {
				return true
			}
		}
		return false
	case syntax.OpRepeat:
		return re.Min == 0 || canEmpty(re.Sub[0])
	}
	return true // star, quest, empty match and zero-width assertions
}

// leadRun bounds below how many bytes a match of re begins with that are
// all in the set firstBytes gives: a class repeated n times begins with n
// such bytes (a rune outside ASCII is bytes of 0x80 and over, all in the
// set when the class holds one); anything else, with one.
func leadRun(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpCapture:
		return leadRun(re.Sub[0])
	case syntax.OpRepeat:
		if re.Sub[0].Op == syntax.OpCharClass {
			return max(1, re.Min)
		}
	case syntax.OpConcat:
		if len(re.Sub) > 0 && !canEmpty(re.Sub[0]) {
			return leadRun(re.Sub[0])
		}
	}
	return 1
}

// firstBytes adds to set every byte a non-empty match of re can start
// with; false when that cannot be told. A rune outside ASCII adds every
// byte from 0x80 on (each byte of its UTF-8 encoding is one).
func firstBytes(re *syntax.Regexp, set *[256]bool) bool {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return false
		}
		r := re.Rune[0]
		switch {
		case r >= utf8.RuneSelf:
			addHigh(set)
		case re.Flags&syntax.FoldCase != 0 && 'a' <= r|0x20 && r|0x20 <= 'z':
			set[r|0x20], set[r|0x20-0x20] = true, true
			addHigh(set) // k and s fold to runes outside ASCII too
		default:
			set[r] = true
		}
		return true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= min(re.Rune[i+1], utf8.RuneSelf-1); r++ {
				set[r] = true
			}
			if re.Rune[i+1] >= utf8.RuneSelf {
				addHigh(set)
			}
		}
		return true
	case syntax.OpCapture, syntax.OpPlus:
		return firstBytes(re.Sub[0], set)
	case syntax.OpRepeat:
		return re.Min > 0 && firstBytes(re.Sub[0], set)
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if !firstBytes(sub, set) {
				return false
			}
		}
		return true
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if canEmpty(sub) {
				if sub.Op == syntax.OpEmptyMatch || isAssertion(sub) {
					continue
				}
				if !firstBytes(sub, set) {
					return false
				}
				continue
			}
			return firstBytes(sub, set)
		}
		return false
	case syntax.OpQuest, syntax.OpStar:
		return firstBytes(re.Sub[0], set)
	}
	return false
}

// addHigh adds the bytes of UTF-8 encodings of runes outside ASCII.
func addHigh(set *[256]bool) {
	for b := utf8.RuneSelf; b < 256; b++ {
		set[b] = true
	}
}

func isAssertion(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return true
	}
	return false
}

func product(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

// flatten lists the parts of nested concatenations and groups in order.
func flatten(re *syntax.Regexp, out []*syntax.Regexp) []*syntax.Regexp {
	switch re.Op {
	case syntax.OpCapture:
		return flatten(re.Sub[0], out)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			out = flatten(sub, out)
		}
		return out
	}
	return append(out, re)
}

func allContainKeyword(set []string, keywords []string) bool {
	for _, s := range set {
		found := false
		for _, k := range keywords {
			if strings.Contains(s, k) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// newlines returns the largest number of '\n' a match of re can contain, or
// unbounded.
func newlines(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return strings.Count(string(re.Rune), "\n")
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= '\n' && '\n' <= re.Rune[i+1] {
				return 1
			}
		}
		return 0
	case syntax.OpAnyChar:
		return 1
	case syntax.OpCapture, syntax.OpQuest:
		return newlines(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, sub := range re.Sub {
			n += newlines(sub)
			if n >= unbounded {
				return unbounded
			}
		}
		return n
	case syntax.OpAlternate:
		n := 0
		for _, sub := range re.Sub {
			n = max(n, newlines(sub))
		}
		return n
	case syntax.OpStar, syntax.OpPlus:
		if newlines(re.Sub[0]) > 0 {
			return unbounded
		}
		return 0
	case syntax.OpRepeat:
		n := newlines(re.Sub[0])
		switch {
		case n == 0:
			return 0
		case re.Max < 0:
			return unbounded
		}
		return min(n*re.Max, unbounded)
	}
	return 0 // empty matches and zero-width assertions
}

// literals returns every string re can match, lower-cased in ASCII, when
// there are at most limit of them.
func literals(re *syntax.Regexp, limit int) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return []string{""}, true
	case syntax.OpLiteral:
		return []string{lowerASCII(string(re.Rune))}, true
	case syntax.OpCharClass:
		var set []string
		seen := map[string]bool{}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] > int32(limit) {
				return nil, false
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				s := lowerASCII(string(r))
				if !seen[s] {
					seen[s] = true
					set = append(set, s)
				}
			}
		}
		return set, len(set) <= limit
	case syntax.OpCapture:
		return literals(re.Sub[0], limit)
	case syntax.OpQuest:
		set, ok := literals(re.Sub[0], limit-1)
		return append(set, ""), ok
	case syntax.OpAlternate:
		var set []string
		for _, sub := range re.Sub {
			s, ok := literals(sub, limit-len(set))
			if !ok {
				return nil, false
			}
			set = append(set, s...)
		}
		return set, len(set) <= limit
	case syntax.OpConcat:
		set := []string{""}
		for _, sub := range re.Sub {
			s, ok := literals(sub, limit)
			if !ok || len(set)*len(s) > limit {
				return nil, false
			}
			set = product(set, s)
		}
		return set, true
	case syntax.OpRepeat:
		if re.Max < 0 || re.Max > 4 {
			return nil, false
		}
		sub, ok := literals(re.Sub[0], limit)
		if !ok {
			return nil, false
		}
		var set []string
		cur := []string{""}
		for n := 0; n <= re.Max; n++ {
			if n >= re.Min {
				set = append(set, cur...)
			}
			if len(set) > limit || len(cur)*len(sub) > limit {
				return nil, false
			}
			cur = product(cur, sub)
		}
		return set, true
	}
	return nil, false
}

// lowerASCII lower-cases ASCII letters only, so that byte offsets are kept.
func lowerASCII(s string) string {
	b := []byte(s)
	lowerBytes(b, b)
	return string(b)
}

// lowerBytes writes src lower-cased in ASCII to dst (which may be src).
func lowerBytes(dst, src []byte) {
	for i, c := range src {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[i] = c
	}
}
