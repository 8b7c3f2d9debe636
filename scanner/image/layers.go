package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/secretgate/secretgate/scanner/internal/ahead"
	"github.com/secretgate/secretgate/scanner/internal/archive"
	"github.com/secretgate/secretgate/scanner/source"
)

// layer is what reading a layer needs of a v1.Layer.
type layer interface {
	MediaType() (types.MediaType, error)
	Digest() (v1.Hash, error)
	DiffID() (v1.Hash, error)
	Compressed() (io.ReadCloser, error)
	Uncompressed() (io.ReadCloser, error)
}

// smallFile is the size up to which a layer's files are read into memory
// and scanned in parallel.
const smallFile = 16 << 20

// Walk implements source.Source.
func (s *Source) Walk(ctx context.Context, w source.Walker) error {
	images, indexAnnotations, closer, err := s.resolve(ctx)
	if err != nil {
		return fmt.Errorf("image %q: %w", s.target, err)
	}
	if closer != nil {
		defer closer.Close()
	}
	if len(indexAnnotations) > 0 {
		if err := w.Visit(textContent(s.target+"!index:annotations", "index:annotations", mapLines(indexAnnotations))); err != nil {
			return err
		}
	}
	type layerJob struct {
		layer  layer
		digest string
	}
	var jobs []layerJob
	for _, f := range images {
		cf, err := s.visitConfig(f, w)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			w.Incomplete(f.prefix+"!config", err)
		}
		info := &imageInfo{prefix: f.prefix}
		s.mu.Lock()
		s.images[f.prefix] = info
		s.mu.Unlock()
		for i, l := range s.layersOf(f, cf, w) {
			if l == nil {
				info.layers = append(info.layers, fmt.Sprintf("missing:%d", i))
				continue
			}
			d, err := s.digest(l)
			if err != nil {
				w.Incomplete(fmt.Sprintf("%s!layer:%d", f.prefix, i), err)
				info.layers = append(info.layers, fmt.Sprintf("missing:%d", i))
				continue
			}
			info.layers = append(info.layers, d)
			s.mu.Lock()
			_, seen := s.layers[d]
			if !seen {
				s.layers[d] = newLayerInfo()
			}
			s.mu.Unlock()
			if !seen {
				jobs = append(jobs, layerJob{l, d})
			}
		}
	}
	// Layers are read a few at a time; shared layers once.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Workers)
	for _, j := range jobs {
		g.Go(func() error { return s.walkLayer(gctx, j.layer, j.digest, w) })
	}
	return g.Wait()
}

// layersOf returns an image's layers, bottom first, with nil for each that
// cannot be had (an incomplete entry): a docker save tarball missing a
// layer file still yields the others, where go-containerregistry drops or
// fails on the image as a whole.
func (s *Source) layersOf(f found, cf *v1.ConfigFile, w source.Walker) []layer {
	layers, err := f.img.Layers()
	if err == nil && (cf == nil || len(layers) >= len(cf.RootFS.DiffIDs)) {
		out := make([]layer, len(layers))
		for i, l := range layers {
			out[i] = l
		}
		return out
	}
	if s.transport == "docker-archive" && cf != nil {
		if out, ok := s.archiveLayers(f, cf, w); ok {
			return out
		}
	}
	if err == nil {
		err = fmt.Errorf("the config lists %d layers, the manifest %d", len(cf.RootFS.DiffIDs), len(layers))
	}
	w.Incomplete(f.prefix, fmt.Errorf("reading the layers: %w", registryError(err)))
	return nil
}

// digest is the digest a layer is reported by: one a user can find. For a
// registry and an OCI layout, the blob digest in the manifest; for a
// docker save tarball and the Docker API, which store layers uncompressed,
// the diff_id of the config's rootfs (what `docker inspect` lists).
func (s *Source) digest(l layer) (string, error) {
	var h v1.Hash
	var err error
	if s.uncompressedDigests() {
		h, err = l.DiffID()
	} else {
		h, err = l.Digest()
	}
	if err != nil {
		return "", fmt.Errorf("the layer's digest: %w", err)
	}
	return h.String(), nil
}

func (s *Source) uncompressedDigests() bool {
	return s.transport == "docker-archive" || s.transport == "docker-daemon"
}

// walkLayer reads one layer's tar, recording what it writes, links and
// deletes, and yields each file for scanning. Small files are handed on at
// once so the scan's workers share a layer. A layer is read once however
// many of the target's images (platforms) hold it, so its files' paths are
// TARGET!/PATH without a platform; a large one is streamed, and
// the tar waits for it. The layer's bytes are checked against its digest
// as they are read; a mismatch is an incomplete entry.
func (s *Source) walkLayer(ctx context.Context, l layer, digest string, w source.Walker) error {
	where := fmt.Sprintf("%s!layer:%s", s.target, short(digest))
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.Incomplete(where, registryError(err))
		return nil
	}
	mt, err := l.MediaType()
	if err == nil && !mt.IsDistributable() {
		return fail(fmt.Errorf("foreign layer (%s): not fetched, not scanned", mt))
	}
	if err == nil && !isLayerType(mt) {
		return fail(fmt.Errorf("media type %q is not a layer", mt))
	}
	rc, err := s.openLayer(l)
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	check, err := newDigestCheck(rc, digest)
	if err != nil {
		return fail(err)
	}
	stream := io.Reader(check)
	if !s.uncompressedDigests() {
		// The blob as stored: decompress it by its content.
		head := make([]byte, 8)
		n, _ := io.ReadFull(check, head)
		stream = io.MultiReader(bytes.NewReader(head[:n]), check)
		if f := archive.Sniff(head[:n]); f != archive.None && f != archive.Tar && f != archive.Zip {
			dr, err := archive.Decompress(f, stream)
			if err != nil {
				return fail(fmt.Errorf("decompressing: %w", err))
			}
			defer dr.Close()
			stream = dr
		}
	}
	// Fetching, hashing and decompressing go on while a file is scanned.
	ra := ahead.New(stream)
	defer ra.Close()
	s.mu.Lock()
	info := s.layers[digest]
	s.mu.Unlock()
	lim := &limited{r: ra, left: s.opts.MaxLayer}
	tr := tar.NewReader(lim)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if lim.left < 0 {
				err = fmt.Errorf("larger than the %d GiB layer limit", s.opts.MaxLayer>>30)
			}
			return fail(err)
		}
		p := "/" + strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		dir, base := path.Split(p)
		switch {
		case base == ".wh..wh..opq":
			info.opaque[path.Clean(dir)] = true
			continue
		case strings.HasPrefix(base, ".wh."):
			info.whiteouts[path.Join(dir, strings.TrimPrefix(base, ".wh."))] = true
			continue
		}
		info.entries[p] = h.Typeflag
		if h.Typeflag == tar.TypeLink {
			target := "/" + strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")
			info.links[target] = append(info.links[target], p)
			info.linkOf[p] = target
		}
		if !archive.IsFile(h.Typeflag) {
			continue
		}
		c := source.Content{Path: s.target + "!" + p, FilePath: p, ID: p, Layer: digest}
		if h.Size <= smallFile {
			data, err := io.ReadAll(tr)
			if err != nil {
				return fail(err)
			}
			c.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
			if err := w.Visit(c); err != nil {
				return err
			}
			continue
		}
		if err := source.VisitStream(ctx, w, c, tr); err != nil {
			return err
		}
	}
	// Read to the end, past the tar's end marker, so the digest is checked.
	if _, err := io.Copy(io.Discard, lim); err != nil {
		return fail(err)
	}
	if err := check.verify(); err != nil {
		return fail(err)
	}
	return nil
}

// openLayer opens the layer's bytes as its digest covers them.
func (s *Source) openLayer(l layer) (io.ReadCloser, error) {
	if s.uncompressedDigests() {
		return l.Uncompressed()
	}
	return l.Compressed()
}

func isLayerType(mt types.MediaType) bool {
	switch mt {
	case types.DockerLayer, types.DockerUncompressedLayer, types.OCILayer, types.OCILayerZStd,
		types.OCIUncompressedLayer, types.DockerForeignLayer, types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer:
		return true
	}
	return strings.Contains(string(mt), "layer")
}

// digestCheck hashes what is read through it, to compare with a digest.
type digestCheck struct {
	r    io.Reader
	h    hash.Hash
	want string
}

func newDigestCheck(r io.Reader, digest string) (*digestCheck, error) {
	alg, hexDigest, _ := strings.Cut(digest, ":")
	if alg != "sha256" {
		return nil, fmt.Errorf("digest %s: only sha256 is supported", short(digest))
	}
	return &digestCheck{r: r, h: sha256.New(), want: hexDigest}, nil
}

func (d *digestCheck) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	return n, err
}

func (d *digestCheck) verify() error {
	if got := hex.EncodeToString(d.h.Sum(nil)); got != d.want {
		return fmt.Errorf("the layer's content does not match its digest (got sha256:%s)", short(got))
	}
	return nil
}

// limited reads at most left bytes of a layer.
type limited struct {
	r    io.Reader
	left int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errors.New("layer limit reached")
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errors.New("layer limit reached")
	}
	return n, err
}
