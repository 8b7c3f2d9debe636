package scanner

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/secretgate/secretgate/scanner/internal/ahead"
	"github.com/secretgate/secretgate/scanner/internal/archive"
	"github.com/secretgate/secretgate/scanner/internal/binary"
)

// Limits bound what one top-level content may cost when archives inside it
// are opened. Hitting one is a warning naming the archive and the limit,
// and the content is listed in Result.Incomplete.
type Limits struct {
	// MaxDepth is how many archives deep members are opened (5).
	MaxDepth int
	// MaxTotal bounds the bytes expanded from one top-level content (4 GiB).
	MaxTotal int64
	// MaxMember bounds the bytes read from one member or stream (1 GiB).
	MaxMember int64
	// MaxRatio: a stream that expands more than this many times its
	// compressed size, past 1 MiB, is a decompression bomb (1000).
	MaxRatio int64
	// MaxEntries bounds the entries read from one archive (100,000).
	MaxEntries int
	// MemoryBudget is how much of a zip that is not a file on disk is held
	// in memory; a larger one is spilled to a temporary file (32 MiB).
	MemoryBudget int64
	// NoArchives leaves archives and compressed streams closed, and
	// SkipBinaries leaves binary content unread, as gitleaks dir does.
	NoArchives, SkipBinaries bool
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 5
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = 100_000
	}
	def(&l.MaxTotal, 4<<30)
	def(&l.MaxMember, 1<<30)
	def(&l.MaxRatio, 1000)
	def(&l.MemoryBudget, 32<<20)
	return l
}

// maxCompression bounds compression layers in a row (gzip of gzip...),
// which do not count towards MaxDepth.
const maxCompression = 8

// limitError is a limit that stopped reading.
type limitError struct{ what string }

func (e *limitError) Error() string { return e.what }

// budget is what is left to expand from one top-level content. Members
// of one archive may be scanned at once, so it is atomic.
type budget struct{ left atomic.Int64 }

func newBudget(n int64) *budget {
	b := &budget{}
	b.left.Store(n)
	return b
}

// guard reads a member or decompressed stream within the limits.
type guard struct {
	r       io.Reader
	in      func() int64 // compressed bytes consumed so far; nil when not compressed
	read    int64
	limits  *Limits
	budget  *budget
	tripped error
}

func (g *guard) Read(p []byte) (int, error) {
	if g.tripped != nil {
		return 0, g.tripped
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	left := g.budget.left.Add(-int64(n))
	switch {
	case g.read > g.limits.MaxMember:
		g.tripped = &limitError{fmt.Sprintf("larger than the %s member limit", size(g.limits.MaxMember))}
	case g.in != nil && g.read > 1<<20 && g.read > g.limits.MaxRatio*max(1, g.in()):
		g.tripped = &limitError{fmt.Sprintf("expands more than %dx (a decompression bomb)", g.limits.MaxRatio)}
	case left < 0:
		g.tripped = &limitError{fmt.Sprintf("more than %s expanded from one target", size(g.limits.MaxTotal))}
	}
	if g.tripped != nil {
		return n, g.tripped
	}
	return n, err
}

type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// scanContent scans one content, opening what archives it holds, and
// returns how many bytes it read from the content itself.
func (s *streamer) scanContent(ctx context.Context, target string, c Content, emit func(Finding)) (int64, error) {
	rc, err := c.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	in := &counter{r: rc}
	ra, _ := rc.(randomAccess)
	err = s.scanStream(ctx, target, c, in, ra, 0, 0, newBudget(s.limits.MaxTotal), emit)
	return in.n, err
}

// randomAccess is content that can also be read at random: a file on disk
// (source.File, which asks its size only when wanted), or bytes in memory.
type randomAccess interface {
	io.ReaderAt
	Size() (int64, error)
}

// inMemory is bytes held whole, read at random.
type inMemory struct{ *bytes.Reader }

func (m inMemory) Size() (int64, error) { return m.Reader.Size(), nil }

// scanStream looks at the first bytes of r and scans it as what it is: an
// archive or compressed stream (opened), binary content (its printable
// runs) or text. ra, when set, reads the same content at random (a file on
// disk), for zip.
func (s *streamer) scanStream(ctx context.Context, target string, c Content, r io.Reader, ra randomAccess,
	depth, compression int, b *budget, emit func(Finding)) error {
	br := bufio.NewReaderSize(r, 8192)
	// A read error here comes back on the next read, after the bytes that
	// did arrive have been scanned.
	head, peekErr := br.Peek(8000)
	whole := errors.Is(peekErr, io.EOF) // the content is all in head
	f := archive.Sniff(head)
	if f != archive.None && s.limits.NoArchives {
		return nil
	}
	switch f {
	case archive.Gzip, archive.Bzip2, archive.Xz, archive.Zstd:
		if compression >= maxCompression {
			s.incompletef(c, "more than %d compression layers", maxCompression)
			return nil
		}
		in := &counter{r: br}
		dr, err := archive.Decompress(f, in)
		if err != nil {
			s.incompletef(c, "corrupt %s stream: %v", f, err)
			return nil
		}
		defer dr.Close()
		// The guard reads on the read-ahead's goroutine, with the
		// decompressor and its counter.
		g := ahead.New(&guard{r: dr, in: func() int64 { return in.n }, limits: &s.limits, budget: b})
		defer g.Close()
		err = s.scanStream(ctx, target, c, g, nil, depth, compression+1, b, emit)
		return s.settle(c, err, f.String())
	case archive.Tar, archive.Zip:
		if depth >= s.limits.MaxDepth {
			s.incompletef(c, "archive nested deeper than %d (--max-archive-depth)", s.limits.MaxDepth)
			return nil
		}
		if f == archive.Tar {
			return s.settle(c, s.scanTar(ctx, target, c, br, depth, b, emit), "tar")
		}
		return s.settle(c, s.scanZip(ctx, target, c, br, ra, depth, b, emit), "zip")
	}
	// A zip may start with other data (a self-extracting archive, an
	// executable jar): where the content can be read at random, its end
	// tells, and its members are scanned as well as what it is.
	var zipErr error
	if ra != nil && !s.limits.NoArchives && zipEnd(ra, head, whole) {
		if depth >= s.limits.MaxDepth {
			s.incompletef(c, "archive nested deeper than %d (--max-archive-depth)", s.limits.MaxDepth)
		} else {
			zipErr = s.settle(c, s.scanZip(ctx, target, c, nil, ra, depth, b, emit), "zip")
		}
	}
	var err error
	if binary.Is(head) {
		if !s.limits.SkipBinaries {
			err = s.scanBinary(ctx, target, c, br, emit)
		}
	} else {
		_, err = s.scanReader(ctx, target, c, nil, br, emit)
	}
	return cmp.Or(err, zipErr)
}

// settle turns an error from inside an archive into a warning and an
// incomplete entry: the rest of the scan goes on. Only cancellation and
// failures of the outermost content pass through.
func (s *streamer) settle(c Content, err error, format string) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var le *limitError
	if errors.As(err, &le) {
		s.incompletef(c, "%s", le.what)
		return nil
	}
	s.incompletef(c, "corrupt or truncated %s: %v", format, err)
	return nil
}

func (s *streamer) incompletef(c Content, format string, args ...any) {
	s.incomplete(c.Path, fmt.Errorf(format, args...))
}

func member(c Content, name string) Content {
	return Content{Path: c.Path + "!" + name, FilePath: c.FilePath + "!" + name, ID: contentID(c) + "!" + name, Layer: c.Layer}
}

// admit counts a member against the entry limit and reports its problem;
// it returns false when there is nothing to scan.
func (s *streamer) admit(c Content, m archive.Member, entries *int) (bool, error) {
	*entries++
	if *entries > s.limits.MaxEntries {
		return false, &limitError{fmt.Sprintf("more than %d entries", s.limits.MaxEntries)}
	}
	switch {
	case m.Encrypted:
		s.incompletef(member(c, m.Name), "encrypted member")
	case m.Problem != "":
		s.warn(fmt.Errorf("archive %q: member %q: %s", c.Path, m.Name, m.Problem))
	}
	if c.Covered != nil && c.Covered(m.Name) {
		return false, nil // read by the nested source that covers it
	}
	return m.Open != nil, nil
}

// visitMember scans one member, or reports why it is not scanned.
func (s *streamer) visitMember(ctx context.Context, target string, c Content, m archive.Member, compressed bool,
	entries *int, depth int, b *budget, emit func(Finding)) error {
	if ok, err := s.admit(c, m, entries); !ok {
		return err
	}
	mc := member(c, m.Name)
	rc, err := m.Open()
	if err != nil {
		s.incompletef(mc, "cannot read member: %v", err)
		return nil
	}
	defer rc.Close()
	g := &guard{r: rc, limits: &s.limits, budget: b}
	if compressed && m.Compressed >= 0 {
		stored := m.Compressed
		g.in = func() int64 { return stored }
	}
	err = s.scanStream(ctx, target, mc, g, nil, depth+1, 0, b, emit)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var le *limitError
	if errors.As(err, &le) && b.left.Load() < 0 {
		return err // the whole target's budget is spent: stop this archive
	}
	return s.settle(mc, err, "member")
}

// smallMember is the size up to which tar members are read into memory
// and scanned in parallel while the archive is read on.
const smallMember = 4 << 20

// scanTar scans a tar stream's members. Reading a tar is sequential, but
// scanning its members need not be: small members are read into memory
// and scanned by up to GOMAXPROCS goroutines, larger ones in turn.
func (s *streamer) scanTar(ctx context.Context, target string, c Content, r io.Reader, depth int, b *budget, emit func(Finding)) error {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0)) // Go blocks while that many are busy: memory stays at a few members
	entries := 0
	err := archive.ReadTar(r, func(m archive.Member) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if m.Open == nil || m.Size > smallMember {
			return s.visitMember(ctx, target, c, m, false, &entries, depth, b, emit)
		}
		if ok, err := s.admit(c, m, &entries); !ok {
			return err
		}
		rc, err := m.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(&guard{r: rc, limits: &s.limits, budget: b})
		rc.Close()
		if err != nil {
			return err
		}
		mc := member(c, m.Name)
		g.Go(func() error {
			rd := bytes.NewReader(data)
			return s.settle(mc, s.scanStream(ctx, target, mc, rd, inMemory{rd}, depth+1, 0, b, emit), "member")
		})
		return nil
	})
	return cmp.Or(err, g.Wait())
}

// zipEnd tells whether content ends as a zip does. When head holds the
// whole content (most files of a tree are that small), it is looked at
// there, without asking the file's size or reading its end again.
func zipEnd(ra randomAccess, head []byte, whole bool) bool {
	if whole {
		return archive.ZipEnd(bytes.NewReader(head), int64(len(head)))
	}
	size, err := ra.Size()
	return err == nil && archive.ZipEnd(ra, size)
}

func (s *streamer) scanZip(ctx context.Context, target string, c Content, r io.Reader, ra randomAccess,
	depth int, b *budget, emit func(Finding)) error {
	var at io.ReaderAt
	var size int64
	if ra != nil {
		n, err := ra.Size()
		if err != nil {
			return err
		}
		at, size = ra, n
	} else {
		// A zip's directory is at its end: hold it in memory, or past the
		// budget in a temporary file that is removed right after.
		spilled, n, cleanup, err := spill(r, s.limits.MemoryBudget, &guard{limits: &s.limits, budget: b})
		if err != nil {
			return err
		}
		defer cleanup()
		at, size = spilled, n
	}
	entries := 0
	err := archive.ReadZip(at, size, s.limits.MaxEntries, func(m archive.Member) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.visitMember(ctx, target, c, m, true, &entries, depth, b, emit)
	})
	var many *archive.TooManyEntriesError
	if errors.As(err, &many) {
		return &limitError{many.Error()}
	}
	return err
}

// spill reads r whole into memory, or into a temporary file once it is
// larger than budget. g accounts the bytes against the limits.
func spill(r io.Reader, budget int64, g *guard) (io.ReaderAt, int64, func(), error) {
	g.r = r
	var mem bytes.Buffer
	n, err := io.CopyN(&mem, g, budget+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, nil, err
	}
	if n <= budget {
		return bytes.NewReader(mem.Bytes()), n, func() {}, nil
	}
	f, err := os.CreateTemp("", "secretgate-zip-*")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spilling a zip to a temporary file: %w", err)
	}
	// Unlinked at once: the open file is all that holds the data, so a
	// killed process leaves no plaintext behind.
	os.Remove(f.Name())
	cleanup := func() { f.Close() }
	if _, err := f.Write(mem.Bytes()); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	rest, err := io.Copy(f, g)
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n + rest, cleanup, nil
}

// scanBinary scans the printable runs of binary content: as UTF-8 text and
// as UTF-16LE at both alignments, reading the content once. Findings give
// byte offsets instead of lines.
func (s *streamer) scanBinary(ctx context.Context, target string, c Content, r io.Reader, emit func(Finding)) error {
	views := []func(io.Reader) *binary.View{
		binary.Strings,
		func(r io.Reader) *binary.View { return binary.UTF16(r, 0) },
		func(r io.Reader) *binary.View { return binary.UTF16(r, 1) },
	}
	writers := make([]io.Writer, len(views))
	pipes := make([]*io.PipeWriter, len(views))
	errs := make([]error, len(views))
	var wg sync.WaitGroup
	for i, newView := range views {
		pr, pw := io.Pipe()
		writers[i], pipes[i] = pw, pw
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := newView(pr)
			_, err := s.scanReader(ctx, target, c, &binaryView{v, i == 0}, v, emit)
			errs[i] = err
			pr.CloseWithError(err) // unblock the copy if this view stopped early
		}()
	}
	_, copyErr := io.Copy(io.MultiWriter(writers...), r)
	for _, pw := range pipes {
		pw.CloseWithError(copyErr)
	}
	wg.Wait()
	if copyErr != nil {
		return copyErr
	}
	return errors.Join(errs...)
}

func size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
