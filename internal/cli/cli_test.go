package cli

import (
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{`--quiet --exit-code 3`, []string{"--quiet", "--exit-code", "3"}},
		{`--report 'sarif=a b.sarif' "--config=x y.toml"`, []string{"--report", "sarif=a b.sarif", "--config=x y.toml"}},
		{`a\ b "c\"d" 'e\f'`, []string{"a b", `c"d`, `e\f`}},
		{"  \n ", nil},
	} {
		got, err := splitWords(tt.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("splitWords(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`'open`, `"open`} {
		if _, err := splitWords(bad); err == nil {
			t.Errorf("splitWords(%q) accepted an unclosed quote", bad)
		}
	}
}
