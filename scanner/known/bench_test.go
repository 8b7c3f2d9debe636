package known

import (
	"fmt"
	"testing"

	bobu "github.com/BobuSumisu/aho-corasick"
	"github.com/coregx/ahocorasick"

	"github.com/secretgate/secretgate/internal/fixture"
)

// BenchmarkMatcher finds every form of n secrets in an 8 MiB build log,
// whole, with this package's matcher and with the Aho-Corasick libraries
// on the module proxy: the measurement behind writing Matcher at all.
// Each library runs its cheapest call that reports every match.
func BenchmarkMatcher(b *testing.B) {
	for _, n := range []int{10, 1000, 4000} {
		values := fixture.Passwords(n)
		var secrets []Secret
		for i, v := range values {
			secrets = append(secrets, Secret{Name: fmt.Sprint(i), Value: v})
		}
		forms, _ := Forms(secrets, 6)
		texts := make([][]byte, len(forms))
		for i, f := range forms {
			texts[i] = f.Text
		}
		log := fixture.BuildLog(8<<20, values)
		engines := []struct {
			name  string
			build func() func([]byte) int
		}{
			{"secretgate", func() func([]byte) int {
				m := New(secrets, forms)
				return func(data []byte) (found int) {
					m.FindAll(data, func(Match) { found++ })
					return found
				}
			}},
			{"coregx-ahocorasick", func() func([]byte) int {
				ac, err := ahocorasick.NewBuilder().AddPatterns(texts).Build()
				if err != nil {
					b.Fatal(err)
				}
				return func(data []byte) int { return len(ac.FindAllOverlapping(data)) }
			}},
			{"bobusumisu-aho-corasick", func() func([]byte) int {
				trie := bobu.NewTrieBuilder().AddPatterns(texts).Build()
				return func(data []byte) int { return len(trie.Match(data)) }
			}},
		}
		for _, e := range engines {
			b.Run(fmt.Sprintf("secrets=%d/%s", n, e.name), func(b *testing.B) {
				find := e.build()
				b.SetBytes(int64(len(log)))
				b.ResetTimer()
				for range b.N {
					if find(log) == 0 {
						b.Fatal("found nothing")
					}
				}
			})
		}
	}
}
