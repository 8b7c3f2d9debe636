// Package fs provides scan sources for paths on disk and for a reader such
// as standard input.
package fs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/secretgate/secretgate/scanner"
)

// Path is a file or a directory tree. Directories are walked without
// following symbolic links; FIFOs, sockets and devices are skipped, as are
// .git directories.
type Path struct {
	// Root is the path as the user named it.
	Root string
	// Image, when set, receives the container images met in the tree (a
	// docker save tarball, an OCI layout directory or archive), named as
	// image targets (docker-archive:PATH, oci:DIR, oci-archive:PATH),
	// instead of scanning them as plain files: an image's layers need an
	// image's reading (deleted files, config, history).
	Image func(target string)
}

var _ scanner.Source = Path{}

// Name implements scanner.Source.
func (p Path) Name() string { return p.Root }

// Walk implements scanner.Source.
func (p Path) Walk(ctx context.Context, visit func(scanner.Content) error, warn func(error)) error {
	info, err := os.Lstat(p.Root)
	if err != nil {
		return fmt.Errorf("scanning %q: %w", p.Root, unwrapPathError(err))
	}
	if !info.IsDir() {
		if !info.Mode().IsRegular() {
			if info.Mode()&iofs.ModeSymlink != 0 {
				// A link named on the command line is followed, as a shell would.
				if info, err = os.Stat(p.Root); err != nil {
					return fmt.Errorf("scanning %q: %w", p.Root, unwrapPathError(err))
				}
			}
			if !info.Mode().IsRegular() {
				return fmt.Errorf("scanning %q: not a regular file or directory", p.Root)
			}
		}
		return visit(fileContent(filepath.ToSlash(p.Root), p.Root))
	}
	return filepath.WalkDir(p.Root, func(path string, d iofs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			if path == p.Root {
				return fmt.Errorf("scanning %q: %w", p.Root, unwrapPathError(err))
			}
			warn(fmt.Errorf("skipping %q: %w", rel(p.Root, path), unwrapPathError(err)))
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
			if p.Image != nil && isOCILayout(path) {
				p.Image("oci:" + path)
				return filepath.SkipDir
			}
			return nil
		case mode&iofs.ModeSymlink != 0:
			return nil // never followed: a link can point anywhere, or loop
		case !mode.IsRegular():
			return nil // FIFOs, sockets, devices: reading could block forever
		}
		if p.Image != nil {
			if transport := imageArchive(path); transport != "" {
				p.Image(transport + ":" + path)
				return nil
			}
		}
		return visit(fileContent(rel(p.Root, path), path))
	})
}

// isOCILayout reports whether dir is an OCI image layout.
func isOCILayout(dir string) bool {
	for _, f := range []string{"oci-layout", "index.json"} {
		if info, err := os.Stat(filepath.Join(dir, f)); err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// imageArchive tells whether the file at path is a tar holding an image:
// "docker-archive" (a manifest.json at the top, as docker save writes) or
// "oci-archive" (an OCI layout); "" otherwise. Only tar headers are read:
// the reader seeks over the entries' data.
func imageArchive(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, 512)
	if n, _ := io.ReadFull(f, head); n < 262 || string(head[257:262]) != "ustar" {
		return ""
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ""
	}
	tr := tar.NewReader(f)
	var manifest, layout, index bool
	for range 100_000 {
		h, err := tr.Next()
		if err != nil {
			break
		}
		switch strings.TrimPrefix(h.Name, "./") {
		case "manifest.json":
			manifest = true
		case "oci-layout":
			layout = true
		case "index.json":
			index = true
		}
	}
	switch {
	case layout && index:
		return "oci-archive"
	case manifest:
		return "docker-archive"
	}
	return ""
}

func fileContent(relPath, path string) scanner.Content {
	return scanner.Content{
		Path:     relPath,
		FilePath: filepath.ToSlash(path),
		Open: func() (io.ReadCloser, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, unwrapPathError(err)
			}
			return f, nil
		},
	}
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

// Name implements scanner.Source.
func (r Reader) Name() string { return r.Label }

// Walk implements scanner.Source.
func (r Reader) Walk(_ context.Context, visit func(scanner.Content) error, _ func(error)) error {
	return visit(scanner.Content{
		Path: r.Label,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(r.R), nil },
	})
}
