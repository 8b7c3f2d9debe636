// Package archive opens archives and compressed streams by their content,
// not their names: zip (jar, war, ear, whl, nupkg, apk, aab, ipa), tar,
// gzip, bzip2, xz and zstd. It never writes a member to disk and never
// follows a member's name: names that climb out of the archive, absolute
// names, links and encrypted members are reported for what they are.
package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Format is a container or compression format.
type Format int

// Formats Sniff recognises.
const (
	None Format = iota
	Gzip
	Bzip2
	Xz
	Zstd
	Tar
	Zip
)

var names = [...]string{"none", "gzip", "bzip2", "xz", "zstd", "tar", "zip"}

func (f Format) String() string { return names[f] }

// SniffLen is how many leading bytes Sniff wants to see.
const SniffLen = 512

// Sniff tells the format of a stream from its first bytes.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	case bytes.HasPrefix(head, []byte("BZh")) && len(head) > 3 && '1' <= head[3] && head[3] <= '9':
		return Bzip2
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}):
		return Xz
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return Zip
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return Tar
	}
	return None
}

// Decompress returns the decompressed stream of a gzip, bzip2, xz or zstd
// stream.
func Decompress(f Format, r io.Reader) (io.ReadCloser, error) {
	switch f {
	case Gzip:
		return gzip.NewReader(r)
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case Xz:
		x, err := xz.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(x), nil
	case Zstd:
		// A window larger than 64 MiB would let one stream claim that much memory.
		z, err := zstd.NewReader(r, zstd.WithDecoderMaxWindow(64<<20), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return z.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("%s is not a compression format", f)
}

// Member is one entry of an archive.
type Member struct {
	// Name is the entry's name as stored, cleaned of a leading "./".
	Name string
	// Size is the uncompressed size the archive claims (-1 if unknown).
	Size int64
	// Compressed is the stored size, for ratio checks (-1 if unknown).
	Compressed int64
	// Problem, when set, says why the entry is reported rather than
	// scanned: a path that escapes the archive, a link.
	Problem string
	// Encrypted marks a member that cannot be read without a password.
	Encrypted bool
	// Open reads the member; nil for entries with a problem and for
	// directories.
	Open func() (io.ReadCloser, error)
}

// checkName reports names that would escape the archive if extracted.
func checkName(name string) string {
	n := strings.ReplaceAll(name, `\`, "/")
	if strings.HasPrefix(n, "/") || len(n) > 1 && n[1] == ':' {
		return "absolute name"
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "name climbs out of the archive (..)"
		}
	}
	return ""
}

// ReadTar calls visit for each regular file, link and problem entry of a tar
// stream, in order. Members must be read inside visit.
func ReadTar(r io.Reader, visit func(Member) error) error {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		m := Member{Name: strings.TrimPrefix(h.Name, "./"), Size: h.Size, Compressed: h.Size}
		switch {
		case IsFile(h.Typeflag):
			m.Open = func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }
		case h.Typeflag == tar.TypeSymlink:
			m.Problem = "symbolic link to " + quoteName(h.Linkname) + " (not followed)"
		case h.Typeflag == tar.TypeLink:
			m.Problem = "hard link to " + quoteName(h.Linkname) + " (not followed)"
		default:
			continue // directories, devices, FIFOs, PAX and GNU headers
		}
		if p := checkName(h.Name); p != "" && m.Open != nil {
			// Only an extractor would write outside: the content is scanned.
			m.Problem = p + " (scanned, never extracted)"
		} else if seen[m.Name] && m.Open != nil {
			m.Problem = "duplicate name (scanned again)"
		}
		seen[m.Name] = true
		if err := visit(m); err != nil {
			return err
		}
	}
}

// IsFile reports whether GNU tar extracts an entry of this type as a
// regular file: regular files (old V7 '\x00' and '0'), contiguous files
// ('7'), sparse files, and any type it does not know.
func IsFile(typeflag byte) bool {
	switch typeflag {
	case tar.TypeLink, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeDir, tar.TypeFifo,
		tar.TypeXHeader, tar.TypeXGlobalHeader, tar.TypeGNULongName, tar.TypeGNULongLink,
		'D', 'V', 'M', 'N': // GNU dump directory, volume label, multi-volume and old long-name entries
		return false
	}
	return true
}

// ReadZip calls visit for each file of a zip archive read from ra. Members may
// be read in any order.
func ReadZip(ra io.ReaderAt, size int64, visit func(Member) error) error {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return fmt.Errorf("reading zip: %w", err)
	}
	seen := map[string]bool{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		m := Member{
			Name:       strings.TrimPrefix(f.Name, "./"),
			Size:       int64(f.UncompressedSize64),
			Compressed: int64(f.CompressedSize64),
		}
		switch {
		case f.Flags&0x1 != 0:
			m.Encrypted = true
		case f.Mode()&0o170000 == 0o120000:
			m.Problem = "symbolic link (not followed)"
		default:
			m.Open = f.Open
			if p := checkName(f.Name); p != "" {
				m.Problem = p + " (scanned, never extracted)"
			} else if seen[m.Name] {
				m.Problem = "duplicate name (scanned again)"
			}
		}
		seen[m.Name] = true
		if err := visit(m); err != nil {
			return err
		}
	}
	return nil
}

// quoteName quotes a name from an archive for a message, cut short.
func quoteName(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("%q", s)
}
