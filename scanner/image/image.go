// Package image scans container images: every layer on its own (so a file
// a later layer deleted is still found), the config (Env, Labels, Cmd,
// Entrypoint, WorkingDir, User), every history entry (where build arguments
// are recorded) and the manifest and index annotations. Images come from a
// registry (docker://), the Docker API (docker-daemon:), a `docker save`
// tarball (docker-archive:) or an OCI layout (oci:, oci-archive:), the
// transport names skopeo and podman use. It is the only package of
// secretgate that imports go-containerregistry.
package image

import (
	"archive/tar"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/secretgate/secretgate/scanner"
)

// Transports lists the accepted target forms, for messages.
const Transports = "docker://REF, docker-daemon:REF, docker-archive:PATH[:REF], oci:DIR[:REF], oci-archive:PATH[:REF]"

// IsTarget reports whether s names an image by transport.
func IsTarget(s string) bool {
	t, _, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	switch t {
	case "docker", "docker-daemon", "docker-archive", "oci", "oci-archive":
		return true
	}
	return false
}

// Options configures image sources.
type Options struct {
	// Platform picks one platform of a multi-platform index ("linux/amd64");
	// empty scans them all.
	Platform string
	// Insecure allows plain HTTP registries.
	Insecure bool
	// Username and Password, when set, log in to the target's registry.
	Username, Password string
	// Getenv reads GITHUB_TOKEN (for ghcr.io) and DOCKER_HOST.
	Getenv func(string) string
	// MaxLayer bounds the uncompressed bytes read from one layer.
	MaxLayer int64
	// Workers is how many layers are read at once.
	Workers int
}

// Source is one image target. After the scan, Finalize marks the findings
// in files later layers deleted and drops repeats.
type Source struct {
	target string
	opts   Options

	mu         sync.Mutex
	images     []*imageInfo
	layers     map[string]*layerInfo
	incomplete []string
}

var _ scanner.Source = (*Source)(nil)

// New checks a target's form and returns its source; nothing is fetched
// until Walk.
func New(target string, opts Options) (*Source, error) {
	transport, rest, _ := strings.Cut(target, ":")
	switch transport {
	case "docker":
		if !strings.HasPrefix(rest, "//") {
			return nil, fmt.Errorf("image %q: want docker://REF", target)
		}
		if _, err := name.ParseReference(strings.TrimPrefix(rest, "//"), refOptions(opts)...); err != nil {
			return nil, fmt.Errorf("image %q: %w", target, err)
		}
	case "docker-daemon":
		if _, err := name.ParseReference(rest); err != nil {
			return nil, fmt.Errorf("image %q: %w", target, err)
		}
	case "docker-archive", "oci", "oci-archive":
		if rest == "" {
			return nil, fmt.Errorf("image %q: the path is missing", target)
		}
	default:
		return nil, fmt.Errorf("image %q: unknown transport %q (want %s)", target, transport, Transports)
	}
	if opts.MaxLayer <= 0 {
		opts.MaxLayer = 8 << 30
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	return &Source{target: target, opts: opts, layers: map[string]*layerInfo{}}, nil
}

func refOptions(o Options) []name.Option {
	if o.Insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Name implements scanner.Source.
func (s *Source) Name() string { return s.target }

// Incomplete lists what could not be scanned and why.
func (s *Source) Incomplete() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.incomplete...)
}

func (s *Source) incompletef(format string, args ...any) {
	s.mu.Lock()
	s.incomplete = append(s.incomplete, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// imageInfo is one platform's image: its layer digests, bottom first.
type imageInfo struct {
	prefix string // TARGET, or TARGET!PLATFORM for one of several platforms
	layers []string
}

// layerInfo is what a layer's tar held: the paths it wrote and deleted.
type layerInfo struct {
	writes    map[string]bool
	whiteouts map[string]bool // paths it deleted
	opaque    map[string]bool // directories whose earlier content it hid
}

type found struct {
	img    v1.Image
	prefix string
}

// Walk implements scanner.Source.
func (s *Source) Walk(ctx context.Context, visit func(scanner.Content) error, warn func(error)) error {
	images, indexAnnotations, err := s.resolve(ctx)
	if err != nil {
		return err
	}
	if len(indexAnnotations) > 0 {
		if err := visit(textContent(s.target+"!index:annotations", mapLines(indexAnnotations))); err != nil {
			return err
		}
	}
	type layerJob struct {
		layer  v1.Layer
		digest string
	}
	var jobs []layerJob
	for _, f := range images {
		info := &imageInfo{prefix: f.prefix}
		if err := s.visitConfig(f, visit); err != nil {
			return err
		}
		layers, err := f.img.Layers()
		if err != nil {
			return fmt.Errorf("image %q: reading the manifest: %w", s.target, err)
		}
		for _, l := range layers {
			d, err := l.Digest()
			if err != nil {
				return fmt.Errorf("image %q: %w", s.target, err)
			}
			info.layers = append(info.layers, d.String())
			s.mu.Lock()
			_, seen := s.layers[d.String()]
			if !seen {
				s.layers[d.String()] = &layerInfo{writes: map[string]bool{}, whiteouts: map[string]bool{}, opaque: map[string]bool{}}
			}
			s.mu.Unlock()
			if !seen {
				jobs = append(jobs, layerJob{l, d.String()})
			}
		}
		s.images = append(s.images, info)
	}
	// Layers are read a few at a time; shared layers once.
	sem := make(chan struct{}, s.opts.Workers)
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.walkLayer(ctx, j.layer, j.digest, visit, warn); err != nil {
				errMu.Lock()
				if firstErr == nil && ctx.Err() != nil {
					firstErr = err
				}
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// resolve opens the target and returns its images, one per platform.
func (s *Source) resolve(ctx context.Context) ([]found, map[string]string, error) {
	transport, rest, _ := strings.Cut(s.target, ":")
	var platform *v1.Platform
	if s.opts.Platform != "" {
		p, err := v1.ParsePlatform(s.opts.Platform)
		if err != nil {
			return nil, nil, fmt.Errorf("--platform %q: %w", s.opts.Platform, err)
		}
		platform = p
	}
	fail := func(err error) ([]found, map[string]string, error) {
		return nil, nil, fmt.Errorf("image %q: %w", s.target, err)
	}
	switch transport {
	case "docker":
		ref, err := name.ParseReference(strings.TrimPrefix(rest, "//"), refOptions(s.opts)...)
		if err != nil {
			return fail(err)
		}
		ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(s.keychain(ref)), remote.WithTransport(httpTransport())}
		desc, err := remote.Get(ref, ropts...)
		if err != nil {
			return fail(registryError(err))
		}
		if desc.MediaType.IsIndex() {
			idx, err := desc.ImageIndex()
			if err != nil {
				return fail(err)
			}
			return s.fromIndex(idx, platform)
		}
		img, err := desc.Image()
		if err != nil {
			return fail(err)
		}
		return []found{{img: img, prefix: s.target}}, nil, nil
	case "docker-daemon":
		ref, err := name.ParseReference(rest)
		if err != nil {
			return fail(err)
		}
		img, err := daemon.Image(ref, daemon.WithContext(ctx))
		if err != nil {
			return fail(fmt.Errorf("the Docker API (DOCKER_HOST=%q): %w", s.opts.Getenv("DOCKER_HOST"), err))
		}
		return []found{{img: img, prefix: s.target}}, nil, nil
	case "docker-archive":
		file, tag := splitRef(rest)
		var t *name.Tag
		if tag != "" {
			nt, err := name.NewTag(tag)
			if err != nil {
				return fail(err)
			}
			t = &nt
		}
		img, err := tarball.ImageFromPath(file, t)
		if err != nil {
			return fail(fmt.Errorf("reading the docker-archive: %w", err))
		}
		return []found{{img: img, prefix: s.target}}, nil, nil
	case "oci":
		dir, refName := splitRef(rest)
		p, err := layout.FromPath(dir)
		if err != nil {
			return fail(fmt.Errorf("reading the OCI layout: %w", err))
		}
		idx, err := p.ImageIndex()
		if err != nil {
			return fail(fmt.Errorf("reading the OCI layout: %w", err))
		}
		return s.fromLayout(idx, refName, platform)
	case "oci-archive":
		file, refName := splitRef(rest)
		idx, closer, err := openOCIArchive(file)
		if err != nil {
			return fail(fmt.Errorf("reading the oci-archive: %w", err))
		}
		_ = closer // the archive stays open for the scan; the process exit closes it
		return s.fromLayout(idx, refName, platform)
	}
	return fail(fmt.Errorf("unknown transport (want %s)", Transports))
}

// splitRef splits PATH[:REF]; a path holds no ":" in these forms.
func splitRef(s string) (string, string) {
	p, ref, _ := strings.Cut(s, ":")
	return p, ref
}

// fromLayout picks the images of an OCI layout's index named ref (its
// org.opencontainers.image.ref.name annotation), or all of them.
func (s *Source) fromLayout(idx v1.ImageIndex, ref string, platform *v1.Platform) ([]found, map[string]string, error) {
	if ref == "" {
		return s.fromIndex(idx, platform)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("image %q: %w", s.target, err)
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] != ref {
			continue
		}
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, nil, fmt.Errorf("image %q: %w", s.target, err)
			}
			return s.fromIndex(child, platform)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, nil, fmt.Errorf("image %q: %w", s.target, err)
		}
		return []found{{img: img, prefix: s.target}}, nil, nil
	}
	return nil, nil, fmt.Errorf("image %q: no image named %q in the layout", s.target, ref)
}

// fromIndex returns every image of an index (or the one for platform),
// descending into nested indexes.
func (s *Source) fromIndex(idx v1.ImageIndex, platform *v1.Platform) ([]found, map[string]string, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("image %q: %w", s.target, err)
	}
	var out []found
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, nil, fmt.Errorf("image %q: %w", s.target, err)
			}
			more, _, err := s.fromIndex(child, platform)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, more...)
		case d.MediaType.IsImage():
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue // attestations
			}
			if platform != nil && (d.Platform == nil || !d.Platform.Satisfies(*platform)) {
				continue
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, nil, fmt.Errorf("image %q: %w", s.target, err)
			}
			out = append(out, found{img: img})
			if d.Platform != nil {
				out[len(out)-1].prefix = d.Platform.String()
			}
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("image %q: no image for platform %s", s.target, s.opts.Platform)
	}
	for i := range out {
		if len(out) == 1 || out[i].prefix == "" {
			out[i].prefix = s.target
		} else {
			out[i].prefix = s.target + "!" + out[i].prefix
		}
	}
	return out, im.Annotations, nil
}

// visitConfig yields the config fields and history of an image as text.
func (s *Source) visitConfig(f found, visit func(scanner.Content) error) error {
	cf, err := f.img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image %q: reading the config: %w", s.target, err)
	}
	c := cf.Config
	fields := []struct{ name, text string }{
		{"Env", strings.Join(c.Env, "\n")},
		{"Labels", mapLines(c.Labels)},
		{"Cmd", strings.Join(c.Cmd, " ")},
		{"Entrypoint", strings.Join(c.Entrypoint, " ")},
		{"WorkingDir", c.WorkingDir},
		{"User", c.User},
		{"Healthcheck", healthcheck(c.Healthcheck)},
	}
	if m, err := f.img.Manifest(); err == nil && len(m.Annotations) > 0 {
		fields = append(fields, struct{ name, text string }{"manifest:annotations", mapLines(m.Annotations)})
	}
	for _, fd := range fields {
		if strings.TrimSpace(fd.text) == "" {
			continue
		}
		p := f.prefix + "!config:" + fd.name
		if strings.HasPrefix(fd.name, "manifest:") {
			p = f.prefix + "!" + fd.name
		}
		if err := visit(textContent(p, fd.text+"\n")); err != nil {
			return err
		}
	}
	for i, h := range cf.History {
		text := strings.TrimSpace(h.CreatedBy + "\n" + h.Comment)
		if text == "" {
			continue
		}
		if err := visit(textContent(fmt.Sprintf("%s!history:%d", f.prefix, i), text+"\n")); err != nil {
			return err
		}
	}
	return nil
}

func healthcheck(h *v1.HealthConfig) string {
	if h == nil {
		return ""
	}
	return strings.Join(h.Test, " ")
}

func mapLines(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func textContent(p, text string) scanner.Content {
	return scanner.Content{Path: p, FilePath: p, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(text)), nil
	}}
}

// walkLayer reads one layer's tar, recording what it writes and deletes,
// and yields each regular file for scanning, waiting for it to be scanned
// before reading on: a layer is streamed, never held whole.
func (s *Source) walkLayer(ctx context.Context, l v1.Layer, digest string, visit func(scanner.Content) error, warn func(error)) error {
	mt, err := l.MediaType()
	if err == nil && !mt.IsDistributable() {
		warn(fmt.Errorf("image %q: layer %s is a foreign layer (%s): not fetched, not scanned", s.target, short(digest), mt))
		s.incompletef("%s: layer %s: foreign layer, not scanned", s.target, short(digest))
		return nil
	}
	if err == nil && !isLayerType(mt) {
		warn(fmt.Errorf("image %q: layer %s has media type %q, which is not a layer", s.target, short(digest), mt))
		s.incompletef("%s: layer %s: unsupported media type %s", s.target, short(digest), mt)
		return nil
	}
	rc, err := l.Uncompressed()
	if err != nil {
		warn(fmt.Errorf("image %q: layer %s: %w", s.target, short(digest), registryError(err)))
		s.incompletef("%s: layer %s: %v", s.target, short(digest), err)
		return nil
	}
	defer rc.Close()
	s.mu.Lock()
	info := s.layers[digest]
	s.mu.Unlock()
	lim := &limited{r: rc, left: s.opts.MaxLayer}
	tr := tar.NewReader(lim)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if lim.left < 0 {
				err = fmt.Errorf("larger than the %d GiB layer limit", s.opts.MaxLayer>>30)
			}
			warn(fmt.Errorf("image %q: layer %s: %v", s.target, short(digest), registryError(err)))
			s.incompletef("%s: layer %s: %v", s.target, short(digest), err)
			return nil
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
		case h.Typeflag != tar.TypeReg:
			continue
		}
		info.writes[p] = true
		if h.Size <= smallFile {
			// Small files are read into memory and handed on without
			// waiting, so the scan's workers share one layer's files; the
			// hand-off blocks while they are busy, which bounds memory.
			data, err := io.ReadAll(tr)
			if err != nil {
				warn(fmt.Errorf("image %q: layer %s: %v", s.target, short(digest), registryError(err)))
				s.incompletef("%s: layer %s: %v", s.target, short(digest), err)
				return nil
			}
			if err := visit(scanner.Content{
				Path: s.target + "!" + p, FilePath: p, Layer: digest,
				Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
			}); err != nil {
				return err
			}
			continue
		}
		done := make(chan struct{})
		var once sync.Once
		content := scanner.Content{
			Path:     s.target + "!" + p,
			FilePath: p,
			Layer:    digest,
			Open: func() (io.ReadCloser, error) {
				return &signalOnClose{Reader: tr, done: func() { once.Do(func() { close(done) }) }}, nil
			},
		}
		if err := visit(content); err != nil {
			return err
		}
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// smallFile is the size up to which a layer's files are read into memory
// and scanned in parallel.
const smallFile = 16 << 20

func isLayerType(mt types.MediaType) bool {
	switch mt {
	case types.DockerLayer, types.DockerUncompressedLayer, types.OCILayer, types.OCILayerZStd,
		types.OCIUncompressedLayer, types.DockerForeignLayer, types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer:
		return true
	}
	return strings.Contains(string(mt), "layer")
}

type signalOnClose struct {
	io.Reader
	done func()
}

func (s *signalOnClose) Close() error { s.done(); return nil }

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

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}

// Finalize marks each finding in a layer file that does not survive in the
// image's final filesystem (a later layer deleted or replaced it) as
// deleted, and drops a finding that a later layer repeats at the same path:
// a surviving file is reported once, at the layer that last wrote it.
func (s *Source) Finalize(fs []scanner.Finding) []scanner.Finding {
	index := func(info *imageInfo, digest string) int {
		for i, d := range info.layers {
			if d == digest {
				return i
			}
		}
		return -1
	}
	// The same secret at the same place of the same file, in another layer.
	type key struct {
		rule, path, fingerprint string
		line, column            int
		offset                  int64
	}
	best := map[key]int{} // key -> index in out of the finding kept
	var out []scanner.Finding
	for _, f := range fs {
		if f.Target != s.target || f.Layer == "" {
			out = append(out, f)
			continue
		}
		file := strings.TrimPrefix(f.Path, s.target+"!")
		file, _, _ = strings.Cut(file, "!")
		live := false
		for _, img := range s.images {
			i := index(img, f.Layer)
			if i >= 0 && s.survives(img, i, file) {
				live = true
			}
		}
		f.Deleted = !live
		k := key{f.Rule, f.Path, f.Fingerprint, f.Line, f.Column, f.Offset}
		if j, ok := best[k]; ok {
			prev := out[j]
			// Keep the live one, then the one in the higher layer.
			if !prev.Deleted && f.Deleted {
				continue
			}
			if prev.Deleted == f.Deleted && s.layerRank(prev.Layer) >= s.layerRank(f.Layer) {
				continue
			}
			out[j] = f
			continue
		}
		best[k] = len(out)
		out = append(out, f)
	}
	return out
}

// layerRank orders layers bottom to top across the images.
func (s *Source) layerRank(digest string) int {
	r := -1
	for _, img := range s.images {
		for i, d := range img.layers {
			if d == digest {
				r = max(r, i)
			}
		}
	}
	return r
}

// survives reports whether the file that layer i of img wrote at p is in
// the image's final filesystem.
func (s *Source) survives(img *imageInfo, i int, p string) bool {
	for _, d := range img.layers[i+1:] {
		l := s.layers[d]
		if l == nil {
			continue
		}
		if l.writes[p] || l.whiteouts[p] {
			return false
		}
		for dir := path.Dir(p); ; dir = path.Dir(dir) {
			if l.whiteouts[dir] || l.opaque[dir] {
				return false
			}
			if dir == "/" || dir == "." {
				break
			}
		}
	}
	return true
}

// keychain finds registry credentials: --registry-username and
// --registry-password-stdin for the target's registry, GITHUB_TOKEN for
// ghcr.io, then ~/.docker/config.json and its credential helpers.
func (s *Source) keychain(ref name.Reference) authn.Keychain {
	var chains []authn.Keychain
	if s.opts.Username != "" || s.opts.Password != "" {
		chains = append(chains, staticKeychain{ref.Context().RegistryStr(), authn.FromConfig(authn.AuthConfig{
			Username: s.opts.Username, Password: s.opts.Password,
		})})
	}
	if tok := s.opts.Getenv("GITHUB_TOKEN"); tok != "" {
		chains = append(chains, staticKeychain{"ghcr.io", authn.FromConfig(authn.AuthConfig{
			Username: cmp.Or(s.opts.Getenv("GITHUB_ACTOR"), "github"), Password: tok,
		})})
	}
	return authn.NewMultiKeychain(append(chains, authn.DefaultKeychain)...)
}

type staticKeychain struct {
	registry string
	auth     authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.registry {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// httpTransport is an HTTP transport with time limits on every step that can
// hang (dialling, TLS, waiting for headers), but none on reading a large
// layer body that keeps arriving.
func httpTransport() http.RoundTripper {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
	}
}

// registryError says what a registry's HTTP status means for the user.
func registryError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("the registry wants credentials (401): log in with docker login, or pass --registry-username and --registry-password-stdin: %w", err)
	case http.StatusForbidden:
		return fmt.Errorf("the registry denied access (403): %w", err)
	case http.StatusNotFound:
		return fmt.Errorf("no such image or manifest (404): %w", err)
	}
	return err
}
