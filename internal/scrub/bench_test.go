package scrub

import (
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner/known"
)

// benchLog is 8 MiB of build-log-like text with a few secrets in it.
func benchLog(secrets []known.Secret) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	words := []string{"Step", "npm", "install", "added", "packages", "in", "3s", "warning", "deprecated",
		"go:", "downloading", "github.com/example/module", "v1.2.3", "=>", "ok", "PASS", "--- RUN", "TestX"}
	var b []byte
	for len(b) < 8<<20 {
		b = fmt.Appendf(b, "2026-12-01T10:%02d:%02d.%06dZ ", r.IntN(60), r.IntN(60), r.IntN(1e6))
		for range 4 + r.IntN(10) {
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, ' ')
		}
		if r.IntN(500) == 0 {
			b = append(b, secrets[r.IntN(len(secrets))].Value...)
		}
		b = append(b, '\n')
	}
	return b
}

func benchSecrets(n int) []known.Secret {
	secrets := make([]known.Secret, n)
	for i := range secrets {
		secrets[i] = known.Secret{Name: fmt.Sprintf("S%d", i), Value: fixture.Password(uint64(i), 16+i%24)}
	}
	return secrets
}

// BenchmarkScrub streams an 8 MiB log through the scrubber in 4 KiB writes
// with every form of n secrets.
func BenchmarkScrub(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 4000} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			secrets := benchSecrets(n)
			forms, _ := known.Forms(secrets, 6)
			m := known.New(secrets, forms)
			log := benchLog(secrets)
			b.SetBytes(int64(len(log)))
			b.ResetTimer()
			for range b.N {
				w := New(io.Discard, m, "")
				for off := 0; off < len(log); off += 4096 {
					_, _ = w.Write(log[off:min(off+4096, len(log))])
				}
				_ = w.Close()
			}
		})
	}
}

// BenchmarkBuild builds the matcher for every form of 4,000 secrets.
func BenchmarkBuild(b *testing.B) {
	secrets := benchSecrets(4000)
	for range b.N {
		forms, _ := known.Forms(secrets, 6)
		known.New(secrets, forms)
	}
}
