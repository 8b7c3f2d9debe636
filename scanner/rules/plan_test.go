package rules

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"testing"
	"unicode"

	"github.com/secretgate/secretgate/scanner/detect"
)

// sample writes a random string that re may match: repeats a few times
// over their minimum, letters in any case the regex folds to, classes by a
// random range.
func sample(rng *rand.Rand, re *syntax.Regexp, b *strings.Builder) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				for range rng.IntN(3) {
					r = unicode.SimpleFold(r)
				}
			}
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return
		}
		i := rng.IntN(len(re.Rune)/2) * 2
		lo, hi := re.Rune[i], min(re.Rune[i+1], re.Rune[i]+200)
		b.WriteRune(lo + rng.Int32N(hi-lo+1))
	case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
		b.WriteByte(byte(' ' + rng.IntN(95)))
	case syntax.OpCapture:
		sample(rng, re.Sub[0], b)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			sample(rng, sub, b)
		}
	case syntax.OpAlternate:
		sample(rng, re.Sub[rng.IntN(len(re.Sub))], b)
	case syntax.OpQuest:
		if rng.IntN(2) == 0 {
			sample(rng, re.Sub[0], b)
		}
	case syntax.OpStar, syntax.OpPlus, syntax.OpRepeat:
		lo, hi := 0, 3
		switch re.Op {
		case syntax.OpPlus:
			lo, hi = 1, 4
		case syntax.OpRepeat:
			lo, hi = re.Min, re.Min+3
			if re.Max >= 0 {
				hi = min(hi, re.Max)
			}
		}
		for range lo + rng.IntN(hi-lo+1) {
			sample(rng, re.Sub[0], b)
		}
	}
}

// TestWindowsHoldEveryMatch checks the plan of every default rule against
// matches made from the rule's own regex, set in text: each match must lie
// within the rule's windows (its keyword found, the follow condition met,
// the lines around it counted right), or gitleaks would find what the
// scan does not. Text with a Kelvin sign or a long s is read whole, not in
// windows, and is left out.
func TestWindowsHoldEveryMatch(t *testing.T) {
	r := defaultRules(t)
	rng := rand.New(rand.NewPCG(7, 8))
	around := []string{"", " ", "\n", "x = ", "\"", "'", "key: ", "\t", ";\n", "s.Field\n", "x", "_", "9", "de"}
	tried, matched := 0, 0
	for i, ru := range r.rules {
		if ru.rule.Regex == nil {
			continue
		}
		parsed, err := syntax.Parse(ru.rule.Regex.String(), syntax.Perl)
		if err != nil {
			t.Fatalf("%s: %v", ru.id, err)
		}
		for range 60 {
			var b strings.Builder
			b.WriteString(around[rng.IntN(len(around))])
			sample(rng, parsed, &b)
			b.WriteString(around[rng.IntN(len(around))])
			text := b.String()
			if strings.ContainsAny(text, "\u212a\u017f") {
				continue // a keyword spelled so is read whole (TestFoldedLettersAsGitleaks)
			}
			tried++
			ms := ru.rule.Regex.FindAllStringIndex(text, -1)
			if len(ms) == 0 {
				continue
			}
			matched++
			if !hasKeyword(text, ru.rule.Keywords) {
				continue // gitleaks does not run the rule either
			}
			c := &detect.Chunk{Data: []byte(text)}
			wins := r.windows(c)[i]
			for _, m := range ms {
				first, last := c.LineIndex(m[0]), c.LineIndex(max(m[0], m[1]-1))
				in := false
				for _, w := range wins {
					in = in || w.from <= first && last <= w.to
				}
				if !in {
					t.Errorf("%s: match %q (lines %d-%d) of %q outside windows %v", ru.id, text[m[0]:m[1]], first, last, text, wins)
				}
			}
		}
	}
	if matched < tried/2 {
		t.Errorf("only %d of %d samples matched their regex: the sampler is off", matched, tried)
	}
}

// hasKeyword tells whether gitleaks runs a rule with these keywords over
// text: some keyword is in it, lowered; a rule without keywords always runs.
func hasKeyword(text string, keywords []string) bool {
	low := strings.ToLower(text)
	for _, k := range keywords {
		if strings.Contains(low, strings.ToLower(k)) {
			return true
		}
	}
	return len(keywords) == 0
}
