package rules

import (
	"bytes"
	"context"
	"math"
	"sort"
	"unicode/utf8"

	gitleaks "github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"

	"github.com/secretgate/secretgate/scanner/detect"
)

// Detect implements detect.Detector.
//
// For each rule it runs three steps, each no wider than it must be:
//  1. the windows around the rule's keywords (plan) are searched with RE2,
//     which is many times faster than Go's regexp on these patterns and has
//     the same syntax and leftmost-first semantics;
//  2. gitleaks' detector, which makes every real decision (secret group,
//     entropy, allowlists, gitleaks:allow), runs on the lines of each RE2
//     match only;
//  3. where gitleaks' decoder finds encoded text, gitleaks' detector runs
//     with decoding on the lines around it.
//
// Without step 1 this is still exact, only slower: it is skipped for a rule
// RE2 cannot compile.
func (r *Rules) Detect(ctx context.Context, c *detect.Chunk, found func(detect.Match)) {
	if c.FilePath != "" && (c.FilePath == r.configPath || r.pathAllowed(c.FilePath, c.Binary)) {
		return
	}
	var hits []hit
	if c.First {
		for _, ru := range r.pathRules {
			//lint:ignore SA1019 DetectContext takes this type throughout gitleaks v8
			for _, f := range ru.compiled().detector.DetectContext(ctx, gitleaks.Fragment{FilePath: c.FilePath}) {
				if f.RuleID == ru.id {
					hits = append(hits, hit{f, ru, -1})
				}
			}
		}
	}
	wins := r.windows(c)
	dec := r.decodedLines(c)
	whole := r.foldedKeywords(c.Data)
	rt := &runeText{c: c}
	for i, ru := range r.rules {
		if wins[i] == nil && dec.byRule[i] == nil && (whole == nil || !whole[i]) {
			continue
		}
		if ru.rule.Path != nil && !ru.rule.Path.MatchString(c.FilePath) {
			continue
		}
		ru := ru.compiled()
		seen := map[hitKey]bool{}
		run := func(d *gitleaks.Detector, start, end int) {
			//lint:ignore SA1019 DetectContext takes this type throughout gitleaks v8
			frag := gitleaks.Fragment{
				Raw:       string(c.Data[start:end]),
				FilePath:  c.FilePath,
				StartLine: c.Line + c.LineIndex(start),
			}
			for _, f := range d.DetectContext(ctx, frag) {
				if f.RuleID != ru.id {
					continue // a required rule's own finding
				}
				off := toOffset(c, start, frag.StartLine, f)
				if k := (hitKey{off, f.Secret}); !seen[k] {
					seen[k] = true
					hits = append(hits, hit{f, ru, off})
				}
			}
		}
		if whole != nil && whole[i] {
			run(ru.detector, 0, len(c.Data))
			continue
		}
		for _, w := range wins[i] {
			start, end := c.LineStart(w.from), c.LineEnd(w.to)
			for _, cw := range r.candidates(c, rt, ru, start, end) {
				run(ru.plain, cw.start, cw.end)
			}
		}
		for _, w := range decodedWindows(c, ru, wins[i], dec, dec.byRule[i]) {
			if r.decodedMatch(c, ru, dec, w) {
				run(ru.detector, c.LineStart(w.from), c.LineEnd(w.to))
			}
		}
	}

	findings := make([]report.Finding, len(hits))
	for i, h := range hits {
		findings[i] = h.f
	}
	for i, f := range preferSpecific(findings) {
		if f.RuleID == "" || r.ignored(c, f) {
			continue
		}
		h := hits[i]
		m := detect.Match{
			Rule:        f.RuleID,
			Description: f.Description,
			Secret:      f.Secret,
			Prefix:      h.rule.tokenPrefix(f.Secret),
			Start:       h.offset,
			End:         -1,
		}
		if h.offset >= 0 {
			m.End = h.offset + len(f.Match)
		}
		found(m)
	}
}

// Letters that case folding makes ASCII keyword letters: the Kelvin sign
// (k) and the long s (s).
var (
	kelvin = []byte("\u212a")
	longS  = []byte("\u017f")
)

// foldedKeywords finds the rules whose keywords data spells with a Kelvin
// sign or a long s, which a byte search does not read as gitleaks does.
// gitleaks looks for a rule's keywords in the whole fragment lowered by
// strings.ToLower (which makes the Kelvin sign k), then runs the rule's
// case-insensitive regex over the whole fragment, whose matches may spell
// the keyword either way: "to\u212aen = ..." is a generic-api-key finding,
// and so is "\u017fecret = ..." in a file that says "secret" elsewhere.
// Such rules run over the whole chunk, with gitleaks' own detector, as
// gitleaks runs; nil when there are none (nearly always: both letters are
// rare, and rarer inside a keyword).
func (r *Rules) foldedKeywords(data []byte) []bool {
	if !bytes.Contains(data, kelvin) && !bytes.Contains(data, longS) {
		return nil
	}
	var rules []bool
	counts := func(text []byte) map[int]int {
		n := map[int]int{}
		r.keywords.each(text, func(_, k int) { n[k]++ })
		return n
	}
	// A keyword spelled with folded letters is up to three bytes a letter.
	reach := 3 * r.keywords.longest
	for _, letter := range [][]byte{kelvin, longS} {
		for at := 0; ; {
			i := bytes.Index(data[at:], letter)
			if i < 0 {
				break
			}
			p := at + i
			at = p + len(letter)
			// Folding creates keyword occurrences and destroys none (a
			// keyword is ASCII): more after it means one spelled folded.
			near := data[max(0, p-reach):min(len(data), at+reach)]
			plain := counts(near)
			for k, n := range counts(bytes.ReplaceAll(bytes.ReplaceAll(near, kelvin, []byte("k")), longS, []byte("s"))) {
				if n <= plain[k] {
					continue
				}
				if rules == nil {
					rules = make([]bool, len(r.rules))
				}
				for _, ri := range r.byKeyword[k] {
					rules[ri] = true
				}
			}
		}
	}
	return rules
}

type hit struct {
	f      report.Finding
	rule   *rule
	offset int // in Chunk.Data; -1 for a path rule's finding
}

type hitKey struct {
	offset int
	secret string
}

type span struct{ start, end int }

// candidates returns the byte ranges, whole lines, where gitleaks' detector
// has to confirm matches of ru in c.Data[start:end] (which starts and ends on
// line boundaries).
func (r *Rules) candidates(c *detect.Chunk, rt *runeText, ru *rule, start, end int) []span {
	if ru.fast == nil {
		return []span{{start, end}}
	}
	text, line := rt.window(start, end)
	// A rule with an entropy floor or decisive allowlists: a window whose
	// matches gitleaks would all drop (see mayPass) is not confirmed. Only
	// where RE2 reads the chunk's own bytes, which gitleaks measures.
	screen := ru.screens() && rt.valid
	var out []span
	var pass []bool
	for _, m := range ru.fast.FindAllIndex(text, -1) {
		// A confirming window starts on the line of a match; lines that
		// matches share are confirmed together, so no window starts inside
		// a match that gitleaks' own left-to-right search would have taken.
		from := max(c.LineStart(line(m[0])), start)
		to := min(c.LineEnd(line(max(m[0], m[1]-1))), end)
		ok := !screen || ru.mayPass(text[m[0]:m[1]])
		if n := len(out); n > 0 && from < out[n-1].end {
			out[n-1].end = max(out[n-1].end, to)
			pass[n-1] = pass[n-1] || ok
			continue
		}
		out = append(out, span{from, to})
		pass = append(pass, ok)
	}
	kept := out[:0]
	for i, sp := range out {
		if pass[i] {
			kept = append(kept, sp)
		}
	}
	return kept
}

// screens reports whether mayPass can tell anything: whether ru has an
// entropy floor or allowlists that decide by the secret or the match.
func (ru *rule) screens() bool { return ru.rule.Entropy != 0 || len(ru.allow) > 0 }

// mayPass reports whether gitleaks could keep match, a match of ru's regex,
// as far as the rule's entropy floor and its decisive allowlists (see
// decisive) decide: the secret is picked as gitleaks picks it (the secret
// group, else the first non-empty group, of the regex applied to the match
// alone) and measured as gitleaks measures it. gitleaks sums the entropy
// in map order, so a secret within a hair of the floor is left for gitleaks
// to decide. The allowlists are gitleaks' own, asked with its own methods:
// in the Go tree, 145 of the 241 windows confirmed without them found
// nothing, dropped by generic-api-key's stopwords and regexes (issue 15).
func (ru *rule) mayPass(match []byte) bool {
	match = bytes.Trim(match, "\n")
	secret := match
	if groups := ru.fast.FindSubmatch(secret); len(groups) >= 2 {
		if g := ru.rule.SecretGroup; g > 0 {
			if len(groups) <= g {
				return true
			}
			secret = groups[g]
		} else {
			for _, s := range groups[1:] {
				if len(s) > 0 {
					secret = s
					break
				}
			}
		}
	}
	if ru.rule.Entropy != 0 && entropy(secret) <= ru.rule.Entropy-1e-9 {
		return false
	}
	return !ru.dropped(match, secret)
}

// dropped reports whether one of ru's decisive allowlists drops a finding
// of this match and secret, as gitleaks' checkFindingAllowed decides for an
// allowlist whose condition is OR: by its regexes on its target (the
// secret, or the match), or by a stopword in the secret.
func (ru *rule) dropped(matchBytes, secretBytes []byte) bool {
	if len(ru.allow) == 0 {
		return false // most rules: no strings to make
	}
	match, secret := string(matchBytes), string(secretBytes)
	for _, a := range ru.allow {
		target := secret
		if a.RegexTarget == "match" {
			target = match
		}
		if a.RegexAllowed(target) {
			return true
		}
		if stop, _ := a.ContainsStopWord(secret); stop {
			return true
		}
	}
	return false
}

// entropy is gitleaks' shannonEntropy: the Shannon entropy of the runes of
// s, with frequencies over its length in bytes.
func entropy(s []byte) float64 {
	if len(s) == 0 {
		return 0
	}
	var ascii [128]int
	var other map[rune]int
	for _, r := range string(s) {
		if r < 128 {
			ascii[r]++
			continue
		}
		if other == nil {
			other = map[rune]int{}
		}
		other[r]++
	}
	inv := 1 / float64(len(s))
	e := 0.0
	add := func(n int) {
		if n > 0 {
			f := float64(n) * inv
			e -= f * math.Log2(f)
		}
	}
	for _, n := range ascii {
		add(n)
	}
	for _, n := range other {
		add(n)
	}
	return e
}

// runeText is a chunk's text as RE2 must read it (see runes), made once a
// chunk: windows of many rules overlap, and checking and converting each
// window again cost more than the search in a profile of binary views.
type runeText struct {
	c     *detect.Chunk
	done  bool
	text  []byte // c.Data as runes reads it
	valid bool   // text is c.Data
	nl    []int  // newlines of text, when it is not
}

// window returns lines start..end of the chunk (start and end on line
// boundaries) as RE2 reads them, and the chunk's line index of each offset
// in what it returns. A line break is never part of a UTF-8 sequence, so a
// line reads the same converted alone or within the chunk.
func (rt *runeText) window(start, end int) ([]byte, func(int) int) {
	c := rt.c
	if !rt.done {
		rt.done = true
		rt.text, rt.valid = runes(c.Data)
		if !rt.valid {
			for i, b := range rt.text {
				if b == '\n' {
					rt.nl = append(rt.nl, i)
				}
			}
		}
	}
	if rt.valid {
		return c.Data[start:end], func(off int) int { return c.LineIndex(start + off) }
	}
	lineStart := func(i int) int {
		if i <= 0 {
			return 0
		}
		if i > len(rt.nl) {
			return len(rt.text)
		}
		return rt.nl[i-1] + 1
	}
	from := lineStart(c.LineIndex(start))
	to := len(rt.text)
	if end < len(c.Data) {
		to = lineStart(c.LineIndex(end))
	}
	return rt.text[from:to], func(off int) int { return sort.SearchInts(rt.nl, from+off) }
}

// runes returns text as Go's regexp reads it, for RE2, which stops at the
// first invalid UTF-8 byte where Go reads each such byte as U+FFFD: a copy
// with each invalid byte replaced by U+FFFD, or text itself when it is
// valid. Newlines stay in order, so line numbers carry over.
func runes(text []byte) ([]byte, bool) {
	if utf8.Valid(text) {
		return text, true
	}
	out := make([]byte, 0, len(text)+len(text)/8)
	for len(text) > 0 {
		r, n := utf8.DecodeRune(text)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, text[:n]...)
		}
		text = text[n:]
	}
	return out, false
}

// decodedMatch reports whether ru's regex matches anywhere in window w
// after any round of decoding, with a secret above the rule's entropy floor
// where the decoded text is valid UTF-8 (see mayPass): if not, gitleaks'
// decoding passes cannot find anything there either. Without the floor,
// minified lines whose plain matches gitleaks drops for their entropy sent
// whole files through gitleaks' decoding passes, for nothing: 19 windows, a
// seventh of the CPU of a scan of the Go tree (issue 15).
func (r *Rules) decodedMatch(c *detect.Chunk, ru *rule, dec decoded, w window) bool {
	if ru.fast == nil {
		return true
	}
	for depth := 1; depth <= min(r.depth, dec.rounds(w.from, w.to)); depth++ {
		t := dec.runesText(c, w.from, w.to, depth)
		if !ru.screens() || !t.valid {
			if ru.fast.Match(t.text) {
				return true
			}
			continue
		}
		for _, m := range ru.fast.FindAllIndex(t.text, -1) {
			if ru.mayPass(t.text[m[0]:m[1]]) {
				return true
			}
		}
	}
	return false
}

// decodedWindows returns the line windows where ru must also run with
// decoding: around each group of lines the decoder changes, when the rule's
// keyword is in their decoded text or close enough in the raw text (within
// one of the rule's keyword windows).
func decodedWindows(c *detect.Chunk, ru *rule, kw []window, dec decoded, byRule []int) []window {
	if len(dec.groups) == 0 || (len(kw) == 0 && len(byRule) == 0) {
		return nil
	}
	last := len(c.Newlines())
	if ru.plan.whole {
		return []window{{0, last}}
	}
	reach := ru.plan.linesAfter
	var out []window
	k, b := 0, 0
	for _, g := range dec.groups {
		for k < len(kw) && kw[k].to < g.from {
			k++
		}
		for b < len(byRule) && byRule[b] < g.from {
			b++
		}
		inKW := k < len(kw) && kw[k].from <= g.to
		inDec := b < len(byRule) && byRule[b] <= g.to
		if !inKW && !inDec {
			continue
		}
		w := window{max(0, g.from-reach), min(last, g.to+reach)}
		if n := len(out); n > 0 && w.from <= out[n-1].to+1 {
			out[n-1].to = w.to
			continue
		}
		out = append(out, w)
	}
	return out
}
