package image

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/secretgate/secretgate/scanner/source"
)

// Detect tells whether the directory or file at path holds an image: an OCI
// layout directory, or a tarball written by docker save, podman save or
// skopeo (docker-archive or oci-archive). It returns the image source and
// the names (files under the directory, members of the tarball) that
// reading the image covers, so they are scanned once; everything else there
// is still scanned as what it is on disk. A path that only looks like an
// image (a web app's manifest.json, an index.json of something else) is
// not one. size is a file's size, as the walker found it (-1 if unknown).
func Detect(path string, dir bool, size int64, opts Options) (source.Source, func(name string) bool) {
	if dir {
		if !isFile(filepath.Join(path, "oci-layout")) || !isFile(filepath.Join(path, "index.json")) {
			return nil, nil
		}
		p, err := layout.FromPath(path)
		if err != nil {
			return nil, nil
		}
		idx, err := p.ImageIndex()
		if err != nil {
			return nil, nil
		}
		blobs := referenced(idx)
		if blobs == nil {
			return nil, nil
		}
		return At("oci", path, opts), layoutCovers(blobs)
	}
	names, err := tarNames(path, size)
	if err != nil {
		return nil, nil
	}
	switch {
	case names["oci-layout"] && names["index.json"]:
		idx, closer, err := openOCIArchive(path)
		if err != nil {
			return nil, nil
		}
		blobs := referenced(idx)
		closer.Close()
		if blobs == nil {
			return nil, nil
		}
		return At("oci-archive", path, opts), layoutCovers(blobs)
	case names["manifest.json"]:
		covered, ok := dockerCovers(path)
		if !ok {
			return nil, nil
		}
		return At("docker-archive", path, opts), func(n string) bool { return covered[strings.TrimPrefix(n, "./")] }
	}
	return nil, nil
}

func isFile(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

// tarNames lists the top-level names of a tar file, reading its headers
// only: as the file can seek, tar skips over the entries' data.
//
// A tar is whole 512-byte records, and an image's holds at least a header
// and a record of manifest: a file of any other size is no image, and is
// not opened. The walker asks this of every file of a tree; the size, which
// it has already asked of the file system, spares the open, read and close
// of nearly all of them (issue 15).
func tarNames(path string, size int64) (map[string]bool, error) {
	if size < 2*512 || size%512 != 0 {
		return nil, errors.New("not a tar")
	}
	f, err := source.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, 512)
	if n, _ := io.ReadFull(f, head); n < 262 || string(head[257:262]) != "ustar" {
		return nil, errors.New("not a tar")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for range 100_000 {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if n := strings.TrimPrefix(h.Name, "./"); !strings.Contains(n, "/") {
			names[n] = true
		}
	}
	return names, nil
}

// referenced returns the blobs an index leads to (manifests, configs,
// layers, nested indexes), or nil when it leads to no image.
func referenced(idx v1.ImageIndex) map[string]bool {
	blobs := map[string]bool{}
	var walk func(idx v1.ImageIndex, depth int)
	walk = func(idx v1.ImageIndex, depth int) {
		im, err := idx.IndexManifest()
		if err != nil || depth > maxIndexDepth {
			return
		}
		for _, d := range im.Manifests {
			if blobs[d.Digest.String()] {
				continue
			}
			blobs[d.Digest.String()] = true
			switch {
			case d.MediaType.IsIndex():
				if child, err := idx.ImageIndex(d.Digest); err == nil {
					walk(child, depth+1)
				}
			case d.MediaType.IsImage():
				img, err := idx.Image(d.Digest)
				if err != nil {
					continue
				}
				if m, err := img.Manifest(); err == nil {
					blobs[m.Config.Digest.String()] = true
					for _, l := range m.Layers {
						blobs[l.Digest.String()] = true
					}
				}
			}
		}
	}
	walk(idx, 0)
	if len(blobs) == 0 {
		return nil
	}
	return blobs
}

// layoutCovers is what reading an OCI layout covers: its index, its marker
// and the blobs its index leads to.
func layoutCovers(blobs map[string]bool) func(string) bool {
	return func(name string) bool {
		name = strings.TrimPrefix(name, "./")
		switch name {
		case "oci-layout", "index.json":
			return true
		}
		rest, ok := strings.CutPrefix(name, "blobs/")
		if !ok {
			return false
		}
		alg, hex, ok := strings.Cut(rest, "/")
		return ok && blobs[alg+":"+hex]
	}
}

// dockerCovers reads a docker save manifest.json: when it is one (a list of
// images, each with a config and layers), it returns the members reading
// the images covers.
func dockerCovers(path string) (map[string]bool, bool) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil || len(m) == 0 {
		return nil, false
	}
	covered := map[string]bool{"manifest.json": true, "repositories": true}
	for _, d := range m {
		if d.Config == "" || len(d.Layers) == 0 {
			return nil, false
		}
		covered[d.Config] = true
		for _, l := range d.Layers {
			covered[l] = true
			// The legacy layout keeps a copy of the config beside each layer.
			if dir, base := filepath.Split(l); base == "layer.tar" {
				covered[dir+"json"] = true
				covered[dir+"VERSION"] = true
			}
		}
	}
	return covered, true
}
