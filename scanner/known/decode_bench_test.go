package known

import (
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
)

// BenchmarkDecode decodes the scrubber benchmark's log in its 4 KiB writes:
// the cost of the decoded view where there is nothing to decode.
func BenchmarkDecode(b *testing.B) {
	log := fixture.BuildLog(8<<20, fixture.Passwords(10))
	var v view
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for range b.N {
		for off := 0; off < len(log); off += 4096 {
			decode(&v, log[off:min(off+4096, len(log))], 0, true, false)
		}
	}
}
