package scanner

import (
	"context"
	"io"
)

// Source is a scan target: something that holds contents to scan.
type Source interface {
	// Name is the target as the user named it; it appears in findings.
	Name() string
	// Walk calls visit for each content in the target and warn for each
	// problem that leaves part of it unscanned but does not stop the scan.
	// An error from Walk means the target could not be scanned at all.
	Walk(ctx context.Context, visit func(Content) error, warn func(error)) error
}

// Content is one stream of bytes within a target: a file, an archive
// member, an image layer's file, a config field.
type Content struct {
	// Path is relative to the target, as findings report it.
	Path string
	// FilePath is the path path rules and allowlists see (the walked path,
	// joined to the target).
	FilePath string
	// Open opens the content for reading. It may be called once.
	Open func() (io.ReadCloser, error)
	// Layer is the digest of the image layer the content is in, if any.
	Layer string

	view *view // set inside the scanner for the text views of binary content
}

// view maps a position in a text view of binary content to a byte offset
// in the content: base + scale*position.
type view struct {
	base, scale int64
}
