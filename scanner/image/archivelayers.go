package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/secretgate/secretgate/scanner/internal/archive"
	"github.com/secretgate/secretgate/scanner/source"
)

// archiveLayers reads a docker save tarball's layers from its manifest.json
// one by one, pairing each layer file with the config's diff_id at the
// same place: a missing or unreadable file is one incomplete entry, and
// the other layers are still read.
func (s *Source) archiveLayers(f found, cf *v1.ConfigFile, w source.Walker) ([]layer, bool) {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(s.path) })
	if err != nil {
		return nil, false
	}
	var files []string
	for _, d := range m {
		if d.Config != "" && len(d.Layers) == len(cf.RootFS.DiffIDs) {
			files = d.Layers
			if s.ref == "" || hasTag(d.RepoTags, s.ref) {
				break
			}
		}
	}
	if files == nil {
		return nil, false
	}
	present, err := tarNamesAll(s.path)
	if err != nil {
		return nil, false
	}
	out := make([]layer, len(files))
	for i, name := range files {
		diffID := cf.RootFS.DiffIDs[i]
		if !present[strings.TrimPrefix(name, "./")] {
			w.Incomplete(fmt.Sprintf("%s!layer:%s", f.prefix, short(diffID.String())), fmt.Errorf("%s is missing from the archive", name))
			continue
		}
		out[i] = &memberLayer{path: s.path, name: name, diffID: diffID}
	}
	return out, true
}

// tarNamesAll lists every name in a tar file, reading headers only.
func tarNamesAll(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	tr := tar.NewReader(f)
	for range 1_000_000 {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		names[strings.TrimPrefix(h.Name, "./")] = true
	}
	return names, nil
}

// memberLayer is one layer file of a docker save tarball.
type memberLayer struct {
	path, name string
	diffID     v1.Hash
}

func (l *memberLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *memberLayer) Digest() (v1.Hash, error)            { return l.diffID, nil }
func (l *memberLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *memberLayer) Compressed() (io.ReadCloser, error) {
	return nil, errors.New("a docker-archive layer is read uncompressed")
}

// Uncompressed finds the member and decompresses it if it is compressed.
func (l *memberLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			f.Close()
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("%s is missing from the archive", l.name)
			}
			return nil, err
		}
		if strings.TrimPrefix(h.Name, "./") != strings.TrimPrefix(l.name, "./") {
			continue
		}
		head := make([]byte, 8)
		n, _ := io.ReadFull(tr, head)
		r := io.MultiReader(strings.NewReader(string(head[:n])), tr)
		if fm := archive.Sniff(head[:n]); fm == archive.Gzip || fm == archive.Zstd {
			dr, err := archive.Decompress(fm, r)
			if err != nil {
				f.Close()
				return nil, err
			}
			return readCloser{dr, func() error { dr.Close(); return f.Close() }}, nil
		}
		return readCloser{r, f.Close}, nil
	}
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
