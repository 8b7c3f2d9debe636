package cli

import (
	"runtime/debug"
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

// TestLateCollection: while the matcher is built the collector waits for a
// bounded heap, and afterwards it runs as it did before.
func TestLateCollection(t *testing.T) {
	percent, limit := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	debug.SetGCPercent(percent)
	restore := lateCollection()
	if p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); p != -1 || l > startHeap {
		t.Errorf("while building: GC percent %d, memory limit %d; want -1 and at most %d", p, l, startHeap)
	}
	restore()
	if p, l := debug.SetGCPercent(percent), debug.SetMemoryLimit(-1); p != percent || l != limit {
		t.Errorf("after: GC percent %d, memory limit %d; want %d and %d as before", p, l, percent, limit)
	}
}
