package scanner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/secretgate/secretgate/scanner/files"
	"github.com/secretgate/secretgate/scanner/git"
	"github.com/secretgate/secretgate/scanner/image"
	"github.com/secretgate/secretgate/scanner/source"
)

// ImageTransports lists the image target forms, for messages.
const ImageTransports = image.Transports

// OpenOptions configures Open.
type OpenOptions struct {
	// Stdin is what the target "-" reads.
	Stdin io.Reader
	// Image configures image targets and the images met in directories.
	Image image.Options
	// Git configures git: targets (history).
	Git git.Options
}

// Open turns a target, as a user names it, into a Source:
//   - "-": standard input, one stream;
//   - a path that exists: a file or a directory tree, in which docker save
//     and OCI archives and OCI layout directories are also scanned as
//     images (and still as what they are on disk); a path wins over an
//     image transport of the same spelling (a directory named "oci:x");
//   - docker://REF, docker-daemon:REF, docker-archive:PATH[:REF],
//     oci:DIR[:REF], oci-archive:PATH[:REF]: an image;
//   - git:PATH: the history of the repository at PATH (a work tree or a
//     bare repository).
//
// Nothing is read until the scan: Open only checks that the target can be.
func Open(target string, opts OpenOptions) (Source, error) {
	if target == "-" {
		if opts.Stdin == nil {
			return nil, errors.New("scanning standard input: no input")
		}
		return files.Reader{Label: "-", R: opts.Stdin}, nil
	}
	_, statErr := os.Lstat(target)
	if statErr != nil && strings.HasPrefix(target, "git:") {
		return git.New(target, opts.Git)
	}
	if statErr != nil && image.IsTarget(target) {
		return image.New(target, opts.Image)
	}
	if statErr != nil {
		if scheme, _, ok := strings.Cut(target, "://"); ok {
			return nil, fmt.Errorf("scanning %q: unknown transport %q (want %s, or git:PATH)", target, scheme, ImageTransports)
		}
		if errors.Is(statErr, os.ErrNotExist) {
			return nil, fmt.Errorf("scanning %q: no such file or directory", target)
		}
		return nil, fmt.Errorf("scanning %q: %w", target, statErr)
	}
	return files.Path{Root: target, Nested: func(path string, dir bool, size int64) (source.Source, func(string) bool) {
		return image.Detect(path, dir, size, opts.Image)
	}}, nil
}
