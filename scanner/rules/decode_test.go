package rules

import (
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
