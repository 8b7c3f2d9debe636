// Package image scans container images: every layer on its own (so a file
// a later layer deleted is still found), the config (Env, Labels, Cmd,
// Entrypoint, WorkingDir, User, Healthcheck), every history entry (where
// build arguments are recorded) and the manifest and index annotations.
// Images come from a registry (docker://), the Docker API (docker-daemon:),
// a `docker save` tarball (docker-archive:) or an OCI layout (oci:,
// oci-archive:), the transport names skopeo and podman use. It is the only
// package of secretgate that imports go-containerregistry.
//
// The files: image.go (targets and the Source), resolve.go (from a target
// to its images, per transport), remote.go (registry access), config.go
// (config and history as text), layers.go (streaming layers), live.go
// (which layer files survive), detect.go (images met on disk).
package image

import (
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/secretgate/secretgate/scanner/source"
)

// Transports lists the accepted target forms, for messages.
const Transports = "docker://REF, docker-daemon:REF, docker-archive:PATH[:REF], oci:DIR[:REF], oci-archive:PATH[:REF]"

// transports are the transport names a target may start with.
var transports = []string{"docker", "docker-daemon", "docker-archive", "oci", "oci-archive"}

// IsTarget reports whether s names an image by transport.
func IsTarget(s string) bool {
	t, _, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	for _, k := range transports {
		if t == k {
			return true
		}
	}
	return false
}

// Options configures image sources.
type Options struct {
	// Platform picks the images for one platform ("linux/amd64",
	// "linux/arm64/v8"); empty scans them all. An image that matches none
	// is an error on every transport.
	Platform string
	// Insecure allows plain HTTP registries.
	Insecure bool
	// Username and Password, when set, log in to the target's registry.
	Username, Password string
	// Getenv reads GITHUB_TOKEN (for ghcr.io) and DOCKER_HOST.
	Getenv func(string) string
	// MaxLayer bounds the uncompressed bytes read from one layer (8 GiB).
	MaxLayer int64
	// Workers is how many layers are read at once (4).
	Workers int
}

// Source is one image target. It implements source.Layered: after the
// walk it tells which layer files survive in the final filesystem.
type Source struct {
	target    string // as the user named it
	transport string
	path      string // the reference, file or directory, without transport
	ref       string // the REF of docker-archive:PATH:REF, oci:DIR:REF; "" for all
	opts      Options

	mu     sync.Mutex
	images map[string]*imageInfo // by prefix (TARGET, or TARGET!PLATFORM)
	layers map[string]*layerInfo // by reported digest
}

var (
	_ source.Source  = (*Source)(nil)
	_ source.Layered = (*Source)(nil)
)

// New checks a target's form and returns its source; nothing is fetched
// until Walk. PATH in docker-archive:PATH[:REF], oci:DIR[:REF] and
// oci-archive:PATH[:REF] ends at the last ":" only when what follows is
// not part of an existing path.
func New(target string, opts Options) (*Source, error) {
	transport, rest, _ := strings.Cut(target, ":")
	s := &Source{target: target, transport: transport}
	switch transport {
	case "docker":
		ref, ok := strings.CutPrefix(rest, "//")
		if !ok {
			return nil, fmt.Errorf("image %q: want docker://REF", target)
		}
		if _, err := name.ParseReference(ref, refOptions(opts)...); err != nil {
			return nil, fmt.Errorf("image %q: %w", target, err)
		}
		s.path = ref
	case "docker-daemon":
		if _, err := name.ParseReference(rest); err != nil {
			return nil, fmt.Errorf("image %q: %w", target, err)
		}
		s.path = rest
	case "docker-archive", "oci", "oci-archive":
		s.path, s.ref = splitRef(rest)
		if s.path == "" {
			return nil, fmt.Errorf("image %q: the path is missing", target)
		}
	default:
		return nil, fmt.Errorf("image %q: unknown transport %q (want %s)", target, transport, Transports)
	}
	return s.init(opts), nil
}

// At returns the source for an image stored at path by transport
// (docker-archive, oci or oci-archive), whatever characters path holds.
func At(transport, path string, opts Options) *Source {
	s := &Source{target: transport + ":" + path, transport: transport, path: path}
	return s.init(opts)
}

func (s *Source) init(opts Options) *Source {
	if opts.MaxLayer <= 0 {
		opts.MaxLayer = 8 << 30
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	s.opts = opts
	s.images = map[string]*imageInfo{}
	s.layers = map[string]*layerInfo{}
	return s
}

// Name implements source.Source.
func (s *Source) Name() string { return s.target }

func refOptions(o Options) []name.Option {
	if o.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}
