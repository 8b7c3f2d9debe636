package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ociArchive reads an OCI layout packed in a tar (skopeo's oci-archive:)
// in place: the tar's entries are indexed once, and blobs are read from
// their offsets, so nothing is unpacked to disk.
type ociArchive struct {
	f       *os.File
	entries map[string]entryAt
}

type entryAt struct{ offset, size int64 }

func openOCIArchive(path string) (v1.ImageIndex, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	a := &ociArchive{f: f, entries: map[string]entryAt{}}
	// tar reads no further than a header, so after Next the file stands at
	// the entry's data; and as the file can seek, tar skips the data
	// instead of reading it.
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		if h.Typeflag == tar.TypeReg {
			at, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				f.Close()
				return nil, nil, err
			}
			a.entries[strings.TrimPrefix(h.Name, "./")] = entryAt{at, h.Size}
		}
	}
	raw, err := a.read("index.json")
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("no index.json: %w", err)
	}
	return &archiveIndex{a: a, raw: raw}, f, nil
}

func (a *ociArchive) blob(h v1.Hash) (entryAt, error) {
	e, ok := a.entries["blobs/"+h.Algorithm+"/"+h.Hex]
	if !ok {
		return e, fmt.Errorf("blob %s is missing", h)
	}
	return e, nil
}

func (a *ociArchive) read(name string) ([]byte, error) {
	e, ok := a.entries[name]
	if !ok {
		return nil, fmt.Errorf("%s is missing", name)
	}
	if e.size > 64<<20 {
		return nil, fmt.Errorf("%s is too large for a manifest or config", name)
	}
	b := make([]byte, e.size)
	_, err := a.f.ReadAt(b, e.offset)
	return b, err
}

func (a *ociArchive) readBlob(h v1.Hash) ([]byte, error) {
	return a.read("blobs/" + h.Algorithm + "/" + h.Hex)
}

type archiveIndex struct {
	a   *ociArchive
	raw []byte
}

func (x *archiveIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }
func (x *archiveIndex) Digest() (v1.Hash, error)            { return partial.Digest(x) }
func (x *archiveIndex) Size() (int64, error)                { return int64(len(x.raw)), nil }
func (x *archiveIndex) RawManifest() ([]byte, error)        { return x.raw, nil }
func (x *archiveIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(x.raw))
}

func (x *archiveIndex) Image(h v1.Hash) (v1.Image, error) {
	raw, err := x.a.readBlob(h)
	if err != nil {
		return nil, err
	}
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m.MediaType == "" {
		m.MediaType = types.OCIManifestSchema1
	}
	return partial.CompressedToImage(&archiveImage{a: x.a, raw: raw, mediaType: m.MediaType})
}

func (x *archiveIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	raw, err := x.a.readBlob(h)
	if err != nil {
		return nil, err
	}
	return &archiveIndex{a: x.a, raw: raw}, nil
}

type archiveImage struct {
	a         *ociArchive
	raw       []byte
	mediaType types.MediaType
}

func (i *archiveImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *archiveImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *archiveImage) RawConfigFile() ([]byte, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.raw))
	if err != nil {
		return nil, err
	}
	return i.a.readBlob(m.Config.Digest)
}

func (i *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.raw))
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			e, err := i.a.blob(h)
			if err != nil {
				return nil, err
			}
			return &archiveLayer{a: i.a, desc: l, at: e}, nil
		}
	}
	return nil, fmt.Errorf("layer %s is not in the manifest", h)
}

type archiveLayer struct {
	a    *ociArchive
	desc v1.Descriptor
	at   entryAt
}

func (l *archiveLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *archiveLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *archiveLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *archiveLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(l.a.f, l.at.offset, l.at.size)), nil
}
