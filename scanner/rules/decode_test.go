package rules

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect/codec"

	"github.com/secretgate/secretgate/scanner/detect"
)

// decodeSeeds are lines where gitleaks' decoder finds something, or almost:
// every encoding it reads, glued to words, cut short, and at line ends.
var decodeSeeds = []string{
	"plain text, nothing to decode",
	"token=dGhpcyBpcyBhIHNlY3JldCB0b2tlbg==",
	"x dGhpcyBpcyBhIHNlY3JldCB0b2tlbg",
	"hex 746869732069732061207365637265742074",
	"url ?q=%74%68%69%73 and %2",
	"key_U+0073 U+0065 U+0063",
	"nameU+0041",
	`esc \u0073\u0065\\u0063 and \U0041`,
	"a-b/c+d_e-f/g+h_i-j/k+l_m",
	"%41" + strings.Repeat("x", 40) + "%42",
	"U+004",
	"abcdefghijklmnop1",
}

// FuzzDecodeCandidates checks the byte scan that picks the lines worth
// decoding against gitleaks' decoder itself: every line in which the
// decoder finds a segment it decodes must be among the lines decoded.
func FuzzDecodeCandidates(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s + "\n" + s)
	}
	f.Add(strings.Join(decodeSeeds, "\n"))
	r := defaultRules(f)
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		c := &detect.Chunk{Data: []byte(text)}
		got := r.decodedLines(c)
		for i, line := range strings.Split(text, "\n") {
			if _, segments := codec.NewDecoder().Decode(line, nil); len(segments) == 0 {
				continue
			}
			in := false
			for _, g := range got.groups {
				in = in || g.from <= i && i <= g.to
			}
			if !in {
				t.Fatalf("line %d (%q): gitleaks' decoder decodes it, the scan did not pick it", i, line)
			}
		}
	})
}

// FuzzDecodeRound checks one round of decoding done here against gitleaks'
// decoder, on any text: the same text out, and the same answer to whether
// anything decoded.
func FuzzDecodeRound(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	for _, s := range []string{
		"%41%42 and %zz then %43\n%44",
		"U+0041 U+0042\tU+0043\nU+0044",
		"U+0041U+0042 ",
		`\\u0041\u0042\U0043\\\u0044`,
		"616263646566676869707172737475767778797a30313233abc=",
		"YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=== and more",
		"zzzz6162636465666768696a6b6c6d6e6f70717273747576",
		"a%41b U+0041 c2VjcmV0LXZhbHVlLTEyMw==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 2048 {
			return
		}
		wantText, segs := codec.NewDecoder().Decode(text, nil)
		gotText, got := decodeRound(codec.NewDecoder(), text)
		if got != (len(segs) > 0) || gotText != wantText {
			t.Fatalf("decodeRound(%q) = %q, %v; gitleaks: %q, %d segments", text, gotText, got, wantText, len(segs))
		}
	})
}

// TestDecodeRoundAsGitleaks builds texts from the pieces the decoder's
// patterns are made of, glued at random, and compares one round with
// gitleaks' decoder on each: where random bytes seldom make a segment,
// these make many, touching, nested and cut short.
func TestDecodeRoundAsGitleaks(t *testing.T) {
	pieces := []string{
		"%41", "%4", "%7e", "%0a", "%00", "%ff", "U+0041", "U+00e9", "U+004", "\\u0041", "\\\\u0042", "\\U0043", "\\", "u0044",
		" ", "\t", "\n", "\r\n", "=", "==", "zz", "_", "-", "/", "+", "Ab", "key=",
		"0123456789abcdef", "0123456789ABCDEF", "deadbeef", "c2VjcmV0", "dmFsdWU", "QUJD", "xyz123",
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		wantText, segs := codec.NewDecoder().Decode(text, nil)
		gotText, got := decodeRound(codec.NewDecoder(), text)
		if got != (len(segs) > 0) || gotText != wantText {
			t.Fatalf("decodeRound(%q) = %q, %v; gitleaks: %q, %d segments", text, gotText, got, wantText, len(segs))
		}
	}
}
