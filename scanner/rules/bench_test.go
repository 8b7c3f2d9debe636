package rules

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/scanner/detect"
)

// onNetHTTP returns the default rules and the Go files of
// GOROOT/src/net/http one after another, keyword-dense source, with the
// benchmark's bytes set to the text's length.
func onNetHTTP(b *testing.B) (*Rules, []byte) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("go env GOROOT: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(goroot)), "src", "net", "http", "*.go"))
	var text []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		text = append(text, data...)
	}
	if len(text) == 0 {
		b.Skip("no Go source in GOROOT to read")
	}
	cfg, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	return New(context.Background(), cfg, Options{}), text
}

// BenchmarkKeywords finds the default rules' keywords in net/http's source.
func BenchmarkKeywords(b *testing.B) {
	r, text := onNetHTTP(b)
	n := 0
	for b.Loop() {
		r.keywords.each(text, func(int, int) { n++ })
	}
	if n == 0 {
		b.Fatal("no keyword found in net/http")
	}
}

// BenchmarkDetect runs the default rules over net/http's source as one
// chunk: keywords, RE2 windows, encoded text, gitleaks' confirmation.
func BenchmarkDetect(b *testing.B) {
	r, text := onNetHTTP(b)
	for b.Loop() {
		c := &detect.Chunk{Data: text, Line: 1, First: true, Last: true, End: len(text)}
		r.Detect(context.Background(), c, func(detect.Match) {})
	}
}
