// Package source defines what a scan target yields to the scanner: a Source
// walks its Contents, may hand the scanner further Sources it meets (an
// image found in a directory), and says what it could not read. Sources
// live in their own packages (scanner/files, scanner/image, scanner/staged)
// and import only this one, so the scanner can open every kind of target
// without an import cycle.
package source

import (
	"context"
	"io"
	"sync"
)

// Source is a scan target: something that holds contents to scan.
type Source interface {
	// Name is the target as the user named it; it appears in findings.
	Name() string
	// Walk hands every content of the target to w. An error from Walk
	// means the target could not be read at all; a part that could not be
	// read is reported with w.Incomplete and the walk goes on.
	Walk(ctx context.Context, w Walker) error
}

// Walker receives what a Source walks.
type Walker interface {
	// Visit scans a content. It may block while the scanner is busy; an
	// error means the scan is over (cancelled) and the walk must stop.
	Visit(Content) error
	// Nest scans another source in the same run, after this one: an image
	// met while walking a directory.
	Nest(Source)
	// Incomplete records that path (as findings would name it) was not
	// fully read, and why. A result with such entries is no proof that the
	// target is clean.
	Incomplete(path string, err error)
	// Warn says something the user should know that leaves nothing
	// unread (a link not followed, a member name that climbs out).
	Warn(error)
}

// Content is one stream of bytes within a target: a file, an archive
// member, an image layer's file, a config field.
type Content struct {
	// Path is how findings name the content: relative to the target, or
	// TARGET!PATH for the contents of an image.
	Path string
	// FilePath is the path gitleaks-style path rules and allowlists see
	// (the walked path, joined to the target).
	FilePath string
	// ID names the content for fingerprints: independent of how the target
	// was named (the start directory, an image's tag or transport), so a
	// baseline still matches when those change. Path when empty.
	ID string
	// Open opens the content for reading. It may be called once.
	Open func() (io.ReadCloser, error)
	// Layer is the digest of the image layer the content is in, if any.
	Layer string
	// Covered, when set, names members of this content (an archive) that a
	// nested source already reads, such as the layers of a docker save
	// tarball scanned as an image: they are not scanned twice.
	Covered func(member string) bool
	// Commit is the commit that added the content, for git history.
	Commit *Commit
}

// Commit is a commit of git history, as findings report it. Order ranks
// commits oldest first: a secret found in several commits' versions of a
// file is reported once, at the oldest.
type Commit struct {
	SHA, Author, Email, Date string
	Order                    int
}

// Layered is implemented by sources whose contents lie in stacked layers
// (container images). After the walk, the scanner asks it about each
// finding in a layer.
type Layered interface {
	// Live returns the path (a Content.Path) at which the content of path
	// that layer wrote is still in the final filesystem: path itself, or
	// another name for the same content (a hard link), or "" when a later
	// layer deleted or replaced it. rank orders the layers (higher is
	// later): a finding repeated in several layers is reported once, at the
	// live copy in the highest layer.
	Live(path, layer string) (live string, rank int)
}

// VisitStream hands w a content that reads r, a reader the source shares
// (a tar stream, git cat-file's output), and waits until the scanner has
// closed it: only then may the source read on. Small contents are better
// read into memory and visited at once, so that the scanner's workers
// share them.
func VisitStream(ctx context.Context, w Walker, c Content, r io.Reader) error {
	done := make(chan struct{})
	var once sync.Once
	c.Open = func() (io.ReadCloser, error) {
		return closer{r, func() { once.Do(func() { close(done) }) }}, nil
	}
	if err := w.Visit(c); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type closer struct {
	io.Reader
	done func()
}

func (c closer) Close() error { c.done(); return nil }
