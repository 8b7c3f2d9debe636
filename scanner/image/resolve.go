package image

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// maxIndexDepth bounds how deep indexes may nest: a real one nests once or
// twice, a hostile one references itself.
const maxIndexDepth = 8

// found is one image of a target, with the prefix its findings' paths take.
type found struct {
	img    v1.Image
	prefix string // TARGET, or TARGET!PLATFORM for one of several
}

// splitRef splits PATH[:REF]. A path may hold ":" (app:1.0.tar): the whole
// is the path when it exists, else PATH is the longest existing prefix
// before a ":", else what comes before the first ":".
func splitRef(s string) (string, string) {
	if _, err := os.Stat(s); err == nil {
		return s, ""
	}
	for i := strings.LastIndexByte(s, ':'); i > 0; i = strings.LastIndexByte(s[:i], ':') {
		if _, err := os.Stat(s[:i]); err == nil {
			return s[:i], s[i+1:]
		}
	}
	p, ref, _ := strings.Cut(s, ":")
	return p, ref
}

// resolve opens the target and returns its images (one per platform) and
// the annotations of its top index, if any.
func (s *Source) resolve(ctx context.Context) ([]found, map[string]string, io.Closer, error) {
	var platform *v1.Platform
	if s.opts.Platform != "" {
		p, err := v1.ParsePlatform(s.opts.Platform)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--platform %q: %w", s.opts.Platform, err)
		}
		platform = p
	}
	one := func(img v1.Image, err error) ([]found, map[string]string, io.Closer, error) {
		if err != nil {
			return nil, nil, nil, err
		}
		if err := s.checkPlatform(img, platform); err != nil {
			return nil, nil, nil, err
		}
		return []found{{img: img, prefix: s.target}}, nil, nil, nil
	}
	switch s.transport {
	case "docker":
		ref, err := name.ParseReference(s.path, refOptions(s.opts)...)
		if err != nil {
			return nil, nil, nil, err
		}
		ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(s.keychain(ref)), remote.WithTransport(httpTransport())}
		desc, err := remote.Get(ref, ropts...)
		if err != nil {
			return nil, nil, nil, registryError(err)
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err != nil {
				return nil, nil, nil, err
			}
			fs, ann, err := s.fromIndex(idx, platform, 0)
			return fs, ann, nil, err
		}
		return one(desc.Image())
	case "docker-daemon":
		ref, err := name.ParseReference(s.path)
		if err != nil {
			return nil, nil, nil, err
		}
		// Unbuffered: each layer is streamed from the daemon as it is
		// read, never held in memory nor written to disk.
		img, err := daemon.Image(ref, daemon.WithContext(ctx), daemon.WithUnbufferedOpener())
		if err != nil {
			return nil, nil, nil, fmt.Errorf("the Docker API (DOCKER_HOST=%q): %w", s.opts.Getenv("DOCKER_HOST"), err)
		}
		return one(img, nil)
	case "docker-archive":
		imgs, err := s.fromDockerArchive(platform)
		return imgs, nil, nil, err
	case "oci":
		p, err := layout.FromPath(s.path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading the OCI layout: %w", err)
		}
		idx, err := p.ImageIndex()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading the OCI layout: %w", err)
		}
		fs, ann, err := s.fromLayout(idx, platform)
		return fs, ann, nil, err
	case "oci-archive":
		idx, closer, err := openOCIArchive(s.path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("reading the oci-archive: %w", err)
		}
		fs, ann, err := s.fromLayout(idx, platform)
		if err != nil {
			closer.Close()
			return nil, nil, nil, err
		}
		return fs, ann, closer, nil
	}
	return nil, nil, nil, fmt.Errorf("unknown transport (want %s)", Transports)
}

// fromDockerArchive reads a docker save tarball: the image REF names, or
// every image it holds (podman save -m writes several).
func (s *Source) fromDockerArchive(platform *v1.Platform) ([]found, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(s.path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("reading the docker-archive: %w", err)
	}
	if len(m) == 0 {
		return nil, errors.New("reading the docker-archive: the manifest lists no image")
	}
	var out []found
	for i, d := range m {
		if s.ref != "" && !hasTag(d.RepoTags, s.ref) {
			continue
		}
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			if t, err := name.NewTag(d.RepoTags[0]); err == nil {
				tag = &t
			}
		}
		var img v1.Image
		if tag != nil {
			img, err = tarball.Image(opener, tag)
		} else if len(m) == 1 {
			img, err = tarball.Image(opener, nil)
		} else {
			err = fmt.Errorf("image %d of the manifest has no tag to tell it apart", i+1)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the docker-archive: %w", err)
		}
		if err := s.checkPlatform(img, platform); err != nil {
			if len(m) > 1 {
				continue
			}
			return nil, err
		}
		prefix := s.target
		if len(m) > 1 && s.ref == "" {
			prefix = s.target + "!" + cmp.Or(firstTag(d.RepoTags), fmt.Sprint(i+1))
		}
		out = append(out, found{img: img, prefix: prefix})
	}
	if len(out) == 0 {
		if s.ref != "" {
			return nil, fmt.Errorf("no image tagged %q in the docker-archive", s.ref)
		}
		return nil, fmt.Errorf("no image for platform %s in the docker-archive", s.opts.Platform)
	}
	return out, nil
}

func hasTag(tags []string, ref string) bool {
	for _, t := range tags {
		if t == ref {
			return true
		}
		if want, err := name.NewTag(ref); err == nil {
			if got, err := name.NewTag(t); err == nil && got.Name() == want.Name() {
				return true
			}
		}
	}
	return false
}

func firstTag(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return tags[0]
}

// checkPlatform makes --platform mean the same for a single image as for
// an index: an image of another platform is an error.
func (s *Source) checkPlatform(img v1.Image, want *v1.Platform) error {
	if want == nil {
		return nil
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the config: %w", err)
	}
	got := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}
	if !platformMatches(got, *want) {
		return fmt.Errorf("the image is for %s, not %s (--platform)", got.String(), s.opts.Platform)
	}
	return nil
}

// platformMatches is Platform.Satisfies with arm64's default variant:
// linux/arm64/v8 is linux/arm64.
func platformMatches(got, want v1.Platform) bool {
	norm := func(p v1.Platform) v1.Platform {
		if p.Architecture == "arm64" && p.Variant == "v8" {
			p.Variant = ""
		}
		return p
	}
	got, want = norm(got), norm(want)
	if want.Variant == "" {
		got.Variant = ""
	}
	return got.Satisfies(want)
}

// fromLayout picks the images of an OCI layout's index named s.ref (its
// org.opencontainers.image.ref.name annotation), or all of them.
func (s *Source) fromLayout(idx v1.ImageIndex, platform *v1.Platform) ([]found, map[string]string, error) {
	if s.ref == "" {
		return s.fromIndex(idx, platform, 0)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, err
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] != s.ref {
			continue
		}
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, nil, err
			}
			return s.fromIndex(child, platform, 1)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, nil, err
		}
		if err := s.checkPlatform(img, platform); err != nil {
			return nil, nil, err
		}
		return []found{{img: img, prefix: s.target}}, nil, nil
	}
	return nil, nil, fmt.Errorf("no image named %q in the layout", s.ref)
}

// fromIndex returns every image of an index (or those for platform),
// descending into nested indexes, maxIndexDepth deep at most.
func (s *Source) fromIndex(idx v1.ImageIndex, platform *v1.Platform, depth int) ([]found, map[string]string, error) {
	out, ann, err := s.walkIndex(idx, platform, depth, map[v1.Hash]bool{})
	if err != nil {
		return nil, nil, err
	}
	if len(out) == 0 {
		if platform != nil {
			return nil, nil, fmt.Errorf("no image for platform %s", s.opts.Platform)
		}
		return nil, nil, errors.New("the index lists no image")
	}
	for i := range out {
		if len(out) == 1 || out[i].prefix == "" {
			out[i].prefix = s.target
		} else {
			out[i].prefix = s.target + "!" + out[i].prefix
		}
	}
	return out, ann, nil
}

func (s *Source) walkIndex(idx v1.ImageIndex, platform *v1.Platform, depth int, seen map[v1.Hash]bool) ([]found, map[string]string, error) {
	if depth > maxIndexDepth {
		return nil, nil, fmt.Errorf("indexes nested more than %d deep (or an index that references itself)", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, err
	}
	var out []found
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			if seen[d.Digest] {
				return nil, nil, fmt.Errorf("index %s references itself", short(d.Digest.String()))
			}
			seen[d.Digest] = true
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, nil, err
			}
			more, _, err := s.walkIndex(child, platform, depth+1, seen)
			delete(seen, d.Digest)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, more...)
		case d.MediaType.IsImage():
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue // attestations
			}
			if platform != nil && (d.Platform == nil || !platformMatches(*d.Platform, *platform)) {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, nil, err
			}
			f := found{img: img}
			if d.Platform != nil {
				f.prefix = d.Platform.String()
			}
			out = append(out, f)
		}
	}
	return out, im.Annotations, nil
}
