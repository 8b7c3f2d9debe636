package scrub

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/scanner"
)

// fakeRule finds "tok-" followed by 8 letters, as a rule would, reporting
// the whole "key=tok-..." as the match and the token as the secret.
type fakeRule struct{}

func (fakeRule) Detect(_ context.Context, c *scanner.Chunk, found func(scanner.Match)) {
	s := string(c.Data)
	for off := 0; ; {
		i := strings.Index(s[off:], "key=tok-")
		if i < 0 || off+i+16 > len(s) {
			return
		}
		start := off + i
		found(scanner.Match{Rule: "fake", Start: start, End: start + 16, Secret: s[start+4 : start+16]})
		off = start + 16
	}
}

func TestLinesMasksRuleMatches(t *testing.T) {
	in := "a key=tok-abcdefgh b\nprogress 10%\rprogress 20%\rkey=tok-zzzzzzzz"
	for _, size := range []int{1, 3, 7, len(in)} {
		var out bytes.Buffer
		l := NewLines(&out, fakeRule{}, "")
		for i := 0; i < len(in); i += size {
			if _, err := l.Write([]byte(in[i:min(i+size, len(in))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		want := "a key=*** b\nprogress 10%\rprogress 20%\rkey=***"
		if out.String() != want {
			t.Errorf("writes of %d: output %q, want %q", size, out.String(), want)
		}
		if l.Masked() != 2 {
			t.Errorf("writes of %d: Masked() = %d, want 2", size, l.Masked())
		}
	}
}

func TestLinesPassesProgressAtOnce(t *testing.T) {
	var out bytes.Buffer
	l := NewLines(&out, fakeRule{}, "")
	l.Write([]byte("50%\r"))
	if out.String() != "50%\r" {
		t.Errorf("output after a progress line = %q, want it written at once", out.String())
	}
}

// TestLinesLongLineCut: a token standing across any cut of a line longer
// than MaxLine is masked whole, whatever the writes.
func TestLinesLongLineCut(t *testing.T) {
	for _, at := range []int{MaxLine - 16, MaxLine - 8, MaxLine - 1, MaxLine, MaxLine - LineOverlap - 3, 2*MaxLine - LineOverlap - 5} {
		in := strings.Repeat("x", at) + "key=tok-abcdefgh" + strings.Repeat("y", 3*MaxLine)
		for _, size := range []int{4096, 65536, 1000} {
			var out bytes.Buffer
			l := NewLines(&out, fakeRule{}, "")
			for i := 0; i < len(in); i += size {
				l.Write([]byte(in[i:min(i+size, len(in))]))
			}
			l.Close()
			if strings.Contains(out.String(), "abcdefgh") || l.Masked() != 1 {
				t.Errorf("token at %d, writes of %d: masked %d, output holds it: %v", at, size, l.Masked(), strings.Contains(out.String(), "abcdefgh"))
			}
			if out.Len() != len(in)-len("tok-abcdefgh")+len(DefaultMask) {
				t.Errorf("token at %d, writes of %d: %d bytes out, want the rest unchanged", at, size, out.Len())
			}
		}
	}
}
