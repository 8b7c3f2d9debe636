// Package scanner finds secrets in files, archives, images and streams.
//
// Scan walks Sources, reads every Content as a stream of overlapping
// Chunks, and runs each Detector over them; detectors live in subpackages
// (scanner/rules for gitleaks rules, scanner/known for known values) and
// sources too (scanner/fs for paths and stdin). Findings never carry the
// secret itself.
package scanner

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultChunkSize is how many bytes a chunk owns.
const DefaultChunkSize = 1 << 20

// DefaultOverlap is the context kept on each side of a chunk when no
// detector asks for more.
const DefaultOverlap = 4 << 10

// Options configures Scan.
type Options struct {
	// Workers is how many contents are scanned at once; GOMAXPROCS if zero.
	Workers int
	// ChunkSize is how many bytes each chunk owns; DefaultChunkSize if zero.
	ChunkSize int
	// Warn receives problems that leave part of a target unscanned.
	Warn func(error)
	// Progress, when set, is updated as the scan goes.
	Progress *Progress
	// Limits bound what archives may cost; zero fields take defaults.
	Limits Limits
}

// Progress counts what a running scan has done; safe to read at any time.
type Progress struct {
	Files    atomic.Int64
	Bytes    atomic.Int64
	Findings atomic.Int64
}

// Stats summarises a scan.
type Stats struct {
	Targets    int   `json:"targets"`
	Files      int64 `json:"files"`
	Bytes      int64 `json:"bytes"`
	DurationMS int64 `json:"duration_ms"`
}

// Result is what Scan found.
type Result struct {
	Findings []Finding
	Stats    Stats
	// Incomplete lists what was not fully scanned, and why: a limit that
	// stopped an archive, a corrupt or encrypted member. A result with
	// entries here is no proof that the targets are clean.
	Incomplete []string
}

// Scan scans every source with every detector. It returns an error only when
// a source cannot be scanned at all; partial problems go to opts.Warn.
func Scan(ctx context.Context, sources []Source, detectors []Detector, opts Options) (*Result, error) {
	start := time.Now()
	workers := cmp.Or(opts.Workers, runtime.GOMAXPROCS(0))
	progress := opts.Progress
	if progress == nil {
		progress = &Progress{}
	}
	warn := opts.Warn
	if warn == nil {
		warn = func(error) {}
	}
	var warnMu sync.Mutex
	lockedWarn := func(err error) {
		warnMu.Lock()
		defer warnMu.Unlock()
		warn(err)
	}
	s := &streamer{
		detectors: detectors,
		size:      cmp.Or(opts.ChunkSize, DefaultChunkSize),
		overlap:   DefaultOverlap,
		limits:    opts.Limits.withDefaults(),
		warn:      lockedWarn,
	}
	for _, d := range detectors {
		if o, ok := d.(Overlapper); ok {
			s.overlap = max(s.overlap, o.Overlap())
		}
	}

	type job struct {
		target  string
		content Content
	}
	jobs := make(chan job)
	var (
		mu       sync.Mutex
		findings []Finding
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var local []Finding
				var localMu sync.Mutex
				n, err := s.scanContent(ctx, j.target, j.content, func(f Finding) {
					localMu.Lock()
					local = append(local, f)
					localMu.Unlock()
					progress.Findings.Add(1)
				})
				progress.Files.Add(1)
				progress.Bytes.Add(n)
				if err != nil && ctx.Err() == nil {
					lockedWarn(fmt.Errorf("scanning %q: %w", j.content.Path, err))
				}
				mu.Lock()
				findings = append(findings, local...)
				mu.Unlock()
			}
		}()
	}

	var walkErr error
	for _, src := range sources {
		name := src.Name()
		err := src.Walk(ctx, func(c Content) error {
			select {
			case jobs <- job{name, c}:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, lockedWarn)
		if err != nil {
			walkErr = errors.Join(walkErr, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if walkErr != nil {
		return nil, walkErr
	}
	SortFindings(findings)
	slices.Sort(s.incomplete)
	return &Result{
		Findings:   findings,
		Incomplete: s.incomplete,
		Stats: Stats{
			Targets:    len(sources),
			Files:      progress.Files.Load(),
			Bytes:      progress.Bytes.Load(),
			DurationMS: time.Since(start).Milliseconds(),
		},
	}, nil
}

// SortFindings orders findings by target, path, position and rule.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.Target, b.Target),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Offset, b.Offset),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Encoding, b.Encoding),
		)
	})
}

// streamer reads contents as overlapping chunks and runs the detectors.
type streamer struct {
	detectors []Detector
	size      int
	overlap   int
	limits    Limits
	warn      func(error)
	buffers   sync.Pool

	mu         sync.Mutex
	incomplete []string
}

// scanReader is the streaming core: memory stays at 2*overlap+size bytes
// whatever the length of r, and a match is reported by the chunk that owns
// its first byte, so matches across chunk boundaries are found once.
func (s *streamer) scanReader(ctx context.Context, target string, c Content, r io.Reader, emit func(Finding)) (int64, error) {
	need := 2*s.overlap + s.size
	buf, _ := s.buffers.Get().(*[]byte)
	if buf == nil || cap(*buf) < need {
		b := make([]byte, 0, need)
		buf = &b
	}
	defer s.buffers.Put(buf)
	data := (*buf)[:0]
	chunk := &Chunk{Path: c.Path, FilePath: c.FilePath, Line: 1, First: true, view: c.view, layer: c.Layer}
	var total int64
	eof := false
	for {
		for len(data) < cap(data) && !eof {
			n, err := r.Read(data[len(data):cap(data)])
			data = data[:len(data)+n]
			total += int64(n)
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return total, err
			}
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		if total == 0 {
			return 0, nil // empty content: nothing to find, as gitleaks
		}
		chunk.reset()
		chunk.Data = data
		chunk.End = min(chunk.Start+s.size, len(data))
		if eof {
			chunk.End = len(data)
		}
		chunk.Last = eof && chunk.End == len(data)
		for _, d := range s.activeDetectors(data) {
			d.Detect(ctx, chunk, func(m Match) {
				if m.Start >= 0 && (m.Start < chunk.Start || m.Start >= chunk.End) {
					return
				}
				if m.Start < 0 && !chunk.First {
					return
				}
				emit(s.finding(target, chunk, m))
			})
		}
		if chunk.Last {
			return total, nil
		}
		keep := max(0, chunk.End-s.overlap)
		chunk.Line += bytes.Count(data[:keep], []byte{'\n'})
		if nl := bytes.LastIndexByte(data[:keep], '\n'); nl >= 0 {
			chunk.LineOffset = keep - nl - 1
		} else {
			chunk.LineOffset += keep
		}
		chunk.Offset += int64(keep)
		chunk.Start = chunk.End - keep
		chunk.First = false
		data = data[:copy(data, data[keep:])]
	}
}

// activeDetectors returns the detectors worth running over data: none when
// it is only line breaks, as the gaps of a binary view are (a sparse file's
// holes, zero padding), where nothing can match.
func (s *streamer) activeDetectors(data []byte) []Detector {
	const lf = 0x0a0a0a0a0a0a0a0a
	for len(data) >= 8 {
		if binary.LittleEndian.Uint64(data) != lf {
			return s.detectors
		}
		data = data[8:]
	}
	for _, b := range data {
		if b != '\n' {
			return s.detectors
		}
	}
	return nil
}

func (s *streamer) finding(target string, c *Chunk, m Match) Finding {
	f := Finding{
		Rule:        m.Rule,
		Description: m.Description,
		Location:    Location{Target: target, Path: c.Path, Layer: c.layer},
		Encoding:    m.Encoding,
		Redacted:    Redact(m.Prefix),
		Fingerprint: Fingerprint(m.Rule, c.Path, m.Secret),
	}
	switch {
	case m.Start < 0:
	case c.view != nil:
		f.Offset = c.view.base + c.view.scale*(c.Offset+int64(m.Start))
	default:
		f.Line, f.Column = c.Position(m.Start)
	}
	return f
}
