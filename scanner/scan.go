// Package scanner finds secrets in files, archives, images and streams.
//
// Open turns a target as a user names it (a path, "-", an image transport,
// git:PATH for history) into a Source; Scan walks sources, scans the nested
// sources they meet (an image found in a directory) in the same run, reads
// every Content as a stream of overlapping Chunks, runs each Detector over
// them, and returns final findings: sorted, image findings marked deleted
// or not and reported once, history findings once at their oldest commit.
// Detectors live in subpackages (scanner/rules for gitleaks rules,
// scanner/known for known values) and import scanner/detect; so do sources
// (scanner/files, scanner/image, scanner/git, scanner/staged), which
// import scanner/source. Findings never carry the secret itself.
package scanner

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/secretgate/secretgate/scanner/detect"
	"github.com/secretgate/secretgate/scanner/source"
)

// Source and Content are defined in scanner/source, which every source
// package imports, and Chunk, Detector, Overlapper and Match in
// scanner/detect, which every detector imports; they are named here for
// the library's users.
type (
	Source     = source.Source
	Content    = source.Content
	Chunk      = detect.Chunk
	Detector   = detect.Detector
	Overlapper = detect.Overlapper
	Match      = detect.Match
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
	// Warn receives what was not fully read, as it happens (everything in
	// Result.Incomplete), and notes that leave nothing unread (a link not
	// followed, a member name that climbs out) unless Note is set.
	Warn func(error)
	// Note, when set, receives the notes instead of Warn (a quiet run
	// drops them).
	Note func(error)
	// Progress, when set, is updated as the scan goes.
	Progress *Progress
	// Limits bound what archives may cost; zero fields take defaults.
	Limits Limits
	// FingerprintKey keys the findings' fingerprints (see Fingerprint).
	FingerprintKey []byte
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
	// Incomplete lists what was not fully scanned, and why: a file that
	// could not be read, a limit that stopped an archive, a corrupt or
	// encrypted member, a layer that could not be fetched, a target that
	// could not be read at all. A result with entries here is no proof that
	// the targets are clean.
	Incomplete []string
	// Failed lists the targets that could not be read at all (also in
	// Incomplete). The findings of the other targets are still reported.
	Failed []TargetError
}

// TargetError is a target that could not be read at all.
type TargetError struct {
	Target string
	Err    error
}

func (e TargetError) Error() string { return e.Err.Error() }
func (e TargetError) Unwrap() error { return e.Err }

// Scan scans every source, and every source they nest, with every detector.
// A target that cannot be read is in Result.Failed and the others are still
// scanned; Scan returns an error only when ctx ends the scan.
func Scan(ctx context.Context, sources []Source, detectors []Detector, opts Options) (*Result, error) {
	start := time.Now()
	r := newRun(detectors, opts)
	g, gctx := errgroup.WithContext(ctx)
	for range cmp.Or(opts.Workers, runtime.GOMAXPROCS(0)) {
		g.Go(func() error { r.work(gctx); return nil })
	}
	queue := slices.Clone(sources)
	for i := 0; i < len(queue) && gctx.Err() == nil; i++ {
		src := queue[i]
		w := &walker{run: r, ctx: gctx, target: src.Name()}
		err := src.Walk(gctx, w)
		queue = append(queue, w.nested...)
		if err == nil || gctx.Err() != nil {
			continue
		}
		r.incomplete(src.Name(), err)
		if i < len(sources) {
			r.failed = append(r.failed, TargetError{Target: src.Name(), Err: err})
		}
	}
	close(r.jobs)
	_ = g.Wait() // workers return no error; cancellation is ctx's
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	findings := finish(r.findings, queue)
	SortFindings(findings)
	slices.Sort(r.skipped)
	return &Result{
		Findings:   findings,
		Incomplete: slices.Compact(r.skipped),
		Failed:     r.failed,
		Stats: Stats{
			Targets:    len(sources),
			Files:      r.progress.Files.Load(),
			Bytes:      r.progress.Bytes.Load(),
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
			cmp.Compare(a.Layer, b.Layer),
		)
	})
}

// job is one content to scan, with the target that yielded it.
type job struct {
	target  string
	content Content
}

// run is the state of one Scan: the queue of contents, what was found and
// what was not read.
type run struct {
	s        *streamer
	jobs     chan job
	progress *Progress
	warnFn   func(error)
	noteFn   func(error)

	mu       sync.Mutex // guards the fields below and calls of warnFn
	findings []Finding
	skipped  []string
	failed   []TargetError
}

func newRun(detectors []Detector, opts Options) *run {
	r := &run{
		jobs:     make(chan job),
		progress: cmp.Or(opts.Progress, &Progress{}),
		warnFn:   opts.Warn,
	}
	if r.warnFn == nil {
		r.warnFn = func(error) {}
	}
	r.noteFn = opts.Note
	if r.noteFn == nil {
		r.noteFn = r.warnFn
	}
	r.s = &streamer{
		detectors:  detectors,
		size:       cmp.Or(opts.ChunkSize, DefaultChunkSize),
		overlap:    DefaultOverlap,
		limits:     opts.Limits.withDefaults(),
		warn:       r.note,
		incomplete: r.incomplete,
		key:        opts.FingerprintKey,
	}
	for _, d := range detectors {
		if o, ok := d.(Overlapper); ok {
			r.s.overlap = max(r.s.overlap, o.Overlap())
		}
	}
	return r
}

// note tells the user something that leaves nothing unread.
func (r *run) note(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.noteFn(err)
}

// incomplete records that path was not fully read, and tells the user.
func (r *run) incomplete(path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipped = append(r.skipped, path+": "+err.Error())
	r.warnFn(fmt.Errorf("not fully scanned %q: %w", path, err))
}

// work scans contents until the queue closes.
func (r *run) work(ctx context.Context) {
	for j := range r.jobs {
		var local []Finding
		var localMu sync.Mutex
		n, err := r.s.scanContent(ctx, j.target, j.content, func(f Finding) {
			localMu.Lock()
			local = append(local, f)
			localMu.Unlock()
			r.progress.Findings.Add(1)
		})
		r.progress.Files.Add(1)
		r.progress.Bytes.Add(n)
		if err != nil && ctx.Err() == nil {
			r.incomplete(j.content.Path, err)
		}
		r.mu.Lock()
		r.findings = append(r.findings, local...)
		r.mu.Unlock()
	}
}

// walker is the source.Walker one source walks into.
type walker struct {
	*run
	ctx    context.Context
	target string

	nestMu sync.Mutex
	nested []Source
}

var _ source.Walker = (*walker)(nil)

func (w *walker) Visit(c Content) error {
	select {
	case w.jobs <- job{w.target, c}:
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

func (w *walker) Nest(s Source) {
	w.nestMu.Lock()
	defer w.nestMu.Unlock()
	w.nested = append(w.nested, s)
}

func (w *walker) Incomplete(path string, err error) { w.incomplete(path, err) }

func (w *walker) Warn(err error) { w.note(err) }
