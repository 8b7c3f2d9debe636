// Package files provides scan sources for paths on disk and for a reader
// such as standard input.
package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/secretgate/secretgate/scanner/source"
)

// Nested tells whether the directory or regular file at path (of size
// bytes; 0 for a directory, -1 if it could not be told) is also something
// else to scan (a container image: an OCI layout directory, a
// docker save or OCI archive tarball). It returns that source, and which
// names inside path (files under the directory, members of the tarball) the
// source reads itself, so they are not scanned twice; nil when path is
// only what it is. It never fails: a path that only looks like an image is
// scanned as what it is.
type Nested func(path string, dir bool, size int64) (src source.Source, covered func(name string) bool)

// Path is a file or a directory tree. Directories are walked without
// following symbolic links; .git directories are skipped; FIFOs, sockets
// and devices are reported and skipped (reading one could block forever).
// A file or directory that cannot be read is an incomplete entry, and the
// walk goes on.
type Path struct {
	// Root is the path as the user named it.
	Root string
	// Nested, when set, is asked about every directory and file met.
	Nested Nested
}

var _ source.Source = Path{}

// Name implements source.Source.
func (p Path) Name() string { return p.Root }

// Walk implements source.Source.
func (p Path) Walk(ctx context.Context, w source.Walker) error {
	info, err := os.Lstat(p.Root)
	if err != nil {
		return fmt.Errorf("scanning %q: %w", p.Root, unwrapPathError(err))
	}
	ids := newIDs(p.Root)
	if !info.IsDir() {
		if info.Mode()&iofs.ModeSymlink != 0 {
			// A link named on the command line is followed, as a shell would.
			if info, err = os.Stat(p.Root); err != nil {
				return fmt.Errorf("scanning %q: %w", p.Root, unwrapPathError(err))
			}
		}
		if !info.Mode().IsRegular() {
			return fmt.Errorf("scanning %q: not a regular file or directory", p.Root)
		}
		c := fileContent(filepath.ToSlash(p.Root), p.Root, ids.of(p.Root))
		p.nest(w, p.Root, false, info.Size(), &c.Covered)
		return w.Visit(c)
	}
	var covers []cover // directories another source reads part of
	q := costlyFirst{w: w, limit: lookahead}
	err = filepath.WalkDir(p.Root, func(path string, d iofs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			if path == p.Root {
				return fmt.Errorf("scanning %q: %w", p.Root, unwrapPathError(err))
			}
			w.Incomplete(rel(p.Root, path), unwrapPathError(err))
			if d != nil && d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch mode := d.Type(); {
		case mode.IsDir():
			if d.Name() == ".git" && path != p.Root {
				return filepath.SkipDir
			}
			var covered func(string) bool
			if p.nest(w, path, true, 0, &covered) {
				covers = append(covers, cover{path + string(filepath.Separator), covered})
			}
			return nil
		case mode&iofs.ModeSymlink != 0:
			return nil // never followed: a link can point anywhere, or loop
		case !mode.IsRegular():
			w.Warn(fmt.Errorf("skipping %q: not a regular file (%s)", rel(p.Root, path), mode.Type()))
			return nil
		}
		for _, c := range covers {
			if name, ok := strings.CutPrefix(path, c.dir); ok && c.covered(filepath.ToSlash(name)) {
				return nil
			}
		}
		// The one system call a file costs before it is read: its size
		// tells a nested image from nearly every other file, and a large
		// file goes ahead of the small ones found before it.
		size := int64(-1)
		if info, err := d.Info(); err == nil {
			size = info.Size()
		}
		c := fileContent(rel(p.Root, path), path, ids.of(path))
		p.nest(w, path, false, size, &c.Covered)
		return q.visit(c, size >= largeFile || expands(d.Name()))
	})
	if err != nil {
		return err
	}
	return q.flush()
}

// lookahead is how many files the walk may find ahead of those it has
// handed to the scanner: a few hundred bytes each, as a file is opened only
// when scanned (16,384 of them, about 6 MB, hold the whole Go tree).
const lookahead = 16 << 10

// largeFile is the size from which a file goes ahead of the smaller ones
// found before it.
const largeFile = 512 << 10

// costlyFirst hands a tree's files to the scanner in the order found,
// but for the costly ones (large, or compressed files and archives, which
// expand to many times their size), which go ahead of the files found
// before them but not yet handed on: the longest work first, so that none
// starts last and leaves one core working alone while the others wait
// (issue 15: a 428 KB bzip2 file of the Go tree, 64 MB of text, took the
// last second of its scan). The order changes no result: findings are
// sorted when the scan ends.
type costlyFirst struct {
	w       source.Walker
	limit   int              // how many may be pending
	pending []source.Content // a FIFO: pending[0] was found first
}

// visit hands c on now if it is costly, or else when the files found
// before it have gone on and limit more are found.
func (q *costlyFirst) visit(c source.Content, costly bool) error {
	if costly {
		return q.w.Visit(c)
	}
	q.pending = append(q.pending, c)
	if len(q.pending) < q.limit {
		return nil
	}
	next := q.pending[0]
	q.pending[0] = source.Content{}
	q.pending = q.pending[1:]
	return q.w.Visit(next)
}

// flush hands on what is pending, at the end of the walk.
func (q *costlyFirst) flush() error {
	pending := q.pending
	q.pending = nil
	for _, c := range pending {
		if err := q.w.Visit(c); err != nil {
			return err
		}
	}
	return nil
}

// expanding are the name endings of compressed files and archives: a hint
// for the order of the scan only, as what a file holds is told by its
// bytes (a misnamed archive is still opened, only not early).
var expanding = []string{
	".gz", ".tgz", ".bz2", ".tbz", ".tbz2", ".xz", ".txz", ".zst", ".tzst", ".lz4", ".br", ".sz",
	".zip", ".jar", ".war", ".ear", ".apk", ".aab", ".aar", ".ipa", ".whl", ".nupkg", ".xpi", ".crx",
	".tar", ".7z", ".rar",
}

// expands tells from a file's name whether it is likely to expand.
func expands(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext != "" && slices.Contains(expanding, ext)
}

// cover is a directory part of which a nested source reads.
type cover struct {
	dir     string // with a trailing separator
	covered func(name string) bool
}

// nest hands the walker the source path also is, if any, and sets covered
// to what that source reads.
func (p Path) nest(w source.Walker, path string, dir bool, size int64, covered *func(string) bool) bool {
	if p.Nested == nil {
		return false
	}
	src, cov := p.Nested(path, dir, size)
	if src == nil {
		return false
	}
	w.Nest(src)
	*covered = cov
	return cov != nil
}

func fileContent(relPath, path, id string) source.Content {
	return source.Content{
		Path:     relPath,
		FilePath: filepath.ToSlash(path),
		ID:       id,
		Open: func() (io.ReadCloser, error) {
			f, err := source.OpenFile(path)
			if err != nil {
				return nil, unwrapPathError(err)
			}
			return f, nil
		},
	}
}

// ids names files for fingerprints by their path in the git work tree that
// holds them, so that `scan repo` and `scan repo/src` fingerprint a file
// alike; outside a work tree, by their path relative to the target.
type ids struct {
	root, top string // top: the work tree's absolute path, or ""
}

func newIDs(root string) ids {
	abs, err := filepath.Abs(root)
	if err != nil {
		return ids{root: root}
	}
	for dir := abs; ; {
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return ids{root: root, top: dir}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ids{root: root}
		}
		dir = parent
	}
}

func (x ids) of(path string) string {
	if x.top != "" {
		if abs, err := filepath.Abs(path); err == nil {
			if r, err := filepath.Rel(x.top, abs); err == nil {
				return filepath.ToSlash(r)
			}
		}
	}
	if path == x.root {
		return filepath.ToSlash(filepath.Base(path))
	}
	return rel(x.root, path)
}

func rel(root, path string) string {
	r, err := filepath.Rel(root, path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(r)
}

// unwrapPathError drops the *PathError wrapper: messages already name the path.
func unwrapPathError(err error) error {
	var pe *iofs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// Reader is a single stream, such as standard input, scanned as one content.
type Reader struct {
	// Label is the target's name in findings; "-" for standard input.
	Label string
	R     io.Reader
}

// Name implements source.Source.
func (r Reader) Name() string { return r.Label }

// Walk implements source.Source.
func (r Reader) Walk(_ context.Context, w source.Walker) error {
	return w.Visit(source.Content{
		Path: r.Label,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(r.R), nil },
	})
}
