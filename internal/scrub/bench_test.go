package scrub

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner/known"
)

func benchSecrets(n int) []known.Secret {
	var secrets []known.Secret
	for i, v := range fixture.Passwords(n) {
		secrets = append(secrets, known.Secret{Name: fmt.Sprintf("S%d", i), Value: v})
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
			log := fixture.BuildLog(8<<20, fixture.Passwords(n))
			benchWrites(b, log, func() *Writer { return New(io.Discard, m, "") })
		})
	}
}

// BenchmarkScrubAddMask is BenchmarkScrub at 1,000 secrets through a Writer
// that reads ::add-mask:: lines, as run and scrub use it: looking for them
// must not cost a stream flush a line.
func BenchmarkScrubAddMask(b *testing.B) {
	secrets := benchSecrets(1000)
	forms, _ := known.Forms(secrets, 6)
	m := known.New(secrets, forms)
	log := fixture.BuildLog(8<<20, fixture.Passwords(1000))
	benchWrites(b, log, func() *Writer { return NewShared(io.Discard, NewMasks(m, 6, func(error) {}), "") })
}

// BenchmarkScrubReadFrom is BenchmarkScrubAddMask as the CLI drives it: the
// Writer reads the log in blocks (ReadFrom), and looks for ::add-mask::
// lines on the reading goroutine, beside the masking.
func BenchmarkScrubReadFrom(b *testing.B) {
	secrets := benchSecrets(1000)
	forms, _ := known.Forms(secrets, 6)
	m := known.New(secrets, forms)
	log := fixture.BuildLog(8<<20, fixture.Passwords(1000))
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for range b.N {
		w := NewShared(io.Discard, NewMasks(m, 6, func(error) {}), "")
		if _, err := w.ReadFrom(bytes.NewReader(log)); err != nil {
			b.Fatal(err)
		}
		_ = w.Close()
	}
}

// BenchmarkCommandLine looks for ::add-mask:: lines in the benchmark's
// log, which holds none, in ReadFrom's blocks: the reading goroutine's
// share of the work besides the reads.
func BenchmarkCommandLine(b *testing.B) {
	log := fixture.BuildLog(8<<20, fixture.Passwords(1000))
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for range b.N {
		for off := 0; off < len(log); off += ReadBlock {
			if commandLine(log[off:min(len(log), off+ReadBlock)]) >= 0 {
				b.Fatal("found a command in a log that holds none")
			}
		}
	}
}

// BenchmarkScrubEscaped is BenchmarkScrub at 1,000 secrets on a log that
// gives the decoded view work: one line in ten coloured, as test runners
// print them, and one in twenty ending in a percent-escaped URL.
func BenchmarkScrubEscaped(b *testing.B) {
	secrets := benchSecrets(1000)
	forms, _ := known.Forms(secrets, 6)
	m := known.New(secrets, forms)
	var log []byte
	for i, line := range bytes.SplitAfter(fixture.BuildLog(8<<20, fixture.Passwords(1000)), []byte("\n")) {
		switch {
		case i%10 == 0:
			log = append(log, "\x1b[32m--- PASS\x1b[0m "...)
		case i%20 == 5:
			log = append(log, "GET /search?q=a%20b%2Fc&page=2 "...)
		}
		log = append(log, line...)
	}
	benchWrites(b, log, func() *Writer { return New(io.Discard, m, "") })
}

// benchWrites times writing log, in 4 KiB writes, through a Writer made new
// for each round.
func benchWrites(b *testing.B, log []byte, newWriter func() *Writer) {
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for range b.N {
		w := newWriter()
		for off := 0; off < len(log); off += 4096 {
			_, _ = w.Write(log[off:min(off+4096, len(log))])
		}
		_ = w.Close()
	}
}

// BenchmarkBuild builds the matcher for every form of 4,000 secrets, and
// reports the heap the matcher keeps.
func BenchmarkBuild(b *testing.B) {
	secrets := benchSecrets(4000)
	var before, after runtime.MemStats
	var m *known.Matcher
	for range b.N {
		b.StopTimer()
		m = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		forms, _ := known.Forms(secrets, 6)
		m = known.New(secrets, forms)
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-kept")
	runtime.KeepAlive(m)
}
