package replacer_test

// BenchmarkPeers runs Buildkite's streaming redactors on secretgate's
// scrubber workload: the same 8 MiB log in 4 KiB writes, every form of N
// secrets as needles (needles=forms), and the raw values alone
// (needles=raw, what they are given in practice). bench/scrub-peers.sh copies this file next to the
// agent's internal/replacer package; it is not built with secretgate.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"peer/replacer"
)

func BenchmarkPeers(b *testing.B) {
	dir := os.Getenv("SCRUBLOAD")
	for _, n := range []int{10, 100, 1000, 4000} {
		log, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("log-%d.txt", n)))
		if err != nil {
			b.Fatal(err)
		}
		for _, set := range []string{"forms", "raw"} {
			file := map[string]string{"forms": "needles-%d.json", "raw": "raw-%d.json"}[set]
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf(file, n)))
			if err != nil {
				b.Fatal(err)
			}
			var needles []string
			if err := json.Unmarshal(data, &needles); err != nil {
				b.Fatal(err)
			}
			run(b, fmt.Sprintf("secrets=%d/needles=%s", n, set), log, needles)
		}
	}
}

func run(b *testing.B, name string, log []byte, needles []string) {
	mask := func([]byte) []byte { return []byte("***") }
	for _, e := range []struct {
		name string
		new  func() io.Writer
		end  func(io.Writer) error
	}{
		{"buildkite-replacer", func() io.Writer { return replacer.New(io.Discard, needles, mask) },
			func(w io.Writer) error { return w.(*replacer.Replacer).Flush() }},
		{"buildkite-boyer-moore", func() io.Writer { return NewBMRedactor(io.Discard, "***", needles) },
			func(w io.Writer) error { return w.(*BoyerMooreRedactor).Flush() }},
	} {
		b.Run(name+"/"+e.name, func(b *testing.B) {
			b.SetBytes(int64(len(log)))
			for b.Loop() {
				w := e.new()
				for off := 0; off < len(log); off += 4096 {
					if _, err := w.Write(log[off:min(off+4096, len(log))]); err != nil {
						b.Fatal(err)
					}
				}
				if err := e.end(w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
