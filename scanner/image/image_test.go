package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/image"
	"github.com/secretgate/secretgate/scanner/known"
)

// planted are the secrets the test image hides, one per place.
var planted = map[string]string{
	"KEPT":    fixture.Password(501, 24), // /app/config.env, written in both layers
	"DELETED": fixture.Password(502, 24), // /app/old.txt, whited out by layer 2
	"OPAQUE":  fixture.Password(503, 24), // /data/dir/x.txt, hidden by an opaque whiteout
	"ENV":     fixture.Password(504, 24), // config Env
	"ARG":     fixture.Password(505, 24), // a build argument in history
	"LABEL":   fixture.Password(506, 24), // a label
}

func tarLayer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	return typedLayer(t, types.DockerLayer, files)
}

func typedLayer(t *testing.T, mt types.MediaType, files map[string]string) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil },
		tarball.WithMediaType(mt))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// testImage assembles an image with mutate: a file deleted later, a
// directory made opaque later, a file kept, and secrets in the config.
func testImage(t *testing.T, extra ...v1.Layer) v1.Image {
	t.Helper()
	return typedImage(t, types.DockerLayer, extra...)
}

func typedImage(t *testing.T, mt types.MediaType, extra ...v1.Layer) v1.Image {
	t.Helper()
	l1 := typedLayer(t, mt, map[string]string{
		"app/config.env": "TOKEN=" + planted["KEPT"] + "\n",
		"app/old.txt":    "password=" + planted["DELETED"] + "\n",
		"data/dir/x.txt": "key=" + planted["OPAQUE"] + "\n",
	})
	l2 := typedLayer(t, mt, map[string]string{
		"app/.wh.old.txt":       "",
		"data/dir/.wh..wh..opq": "",
		"app/config.env":        "TOKEN=" + planted["KEPT"] + "\n# edited\n",
	})
	img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{l1, l2}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Env = []string{"PATH=/usr/bin", "API_KEY=" + planted["ENV"]}
	cf.Config.Labels = map[string]string{"org.example.token": planted["LABEL"]}
	cf.Config.Cmd = []string{"/app/run"}
	cf.History = []v1.History{
		{CreatedBy: "COPY app /app"},
		{CreatedBy: "|1 NPM_TOKEN=" + planted["ARG"] + " /bin/sh -c npm ci"},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func detector() scanner.Detector {
	var secrets []known.Secret
	for name, v := range planted {
		secrets = append(secrets, known.Secret{Name: name, Value: v})
	}
	forms, _ := known.Forms(secrets, 6)
	return known.NewDetector(known.New(secrets, forms))
}

func scan(t *testing.T, target string, opts image.Options) ([]scanner.Finding, []string, error) {
	t.Helper()
	src, err := scanner.Open(target, scanner.OpenOptions{Image: opts})
	if err != nil {
		return nil, nil, err
	}
	res, err := scanner.Scan(context.Background(), []scanner.Source{src}, []scanner.Detector{detector()}, scanner.Options{})
	if err != nil {
		return nil, nil, err
	}
	if len(res.Failed) > 0 {
		return res.Findings, res.Incomplete, res.Failed[0]
	}
	return res.Findings, res.Incomplete, nil
}

// summary renders findings as "RULE PATH [deleted]" lines, sorted.
func summary(target string, fs []scanner.Finding) string {
	var lines []string
	for _, f := range fs {
		l := f.Rule + " " + strings.TrimPrefix(f.Path, target)
		if f.Deleted {
			l += " deleted"
		}
		if f.Layer == "" && strings.Contains(f.Path, "!/") {
			l += " NO-LAYER"
		}
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

const wantSummary = `known:ARG !history:1
known:DELETED !/app/old.txt deleted
known:ENV !config:Env
known:KEPT !/app/config.env
known:LABEL !config:Labels
known:OPAQUE !/data/dir/x.txt deleted`

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func quietRegistry() http.Handler { return registry.New(registry.Logger(log.New(io.Discard, "", 0))) }

func push(t *testing.T, host, repo string, img v1.Image, opts ...remote.Option) string {
	t.Helper()
	ref, err := name.ParseReference(host+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatal(err)
	}
	return "docker://" + host + "/" + repo
}

func TestRegistryImage(t *testing.T) {
	host := serve(t, quietRegistry())
	target := push(t, host, "team/app:1.0", testImage(t))
	fs, _, err := scan(t, target, image.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(target, fs); got != wantSummary {
		t.Errorf("findings:\n%s\nwant:\n%s", got, wantSummary)
	}
	for _, f := range fs {
		if strings.Contains(f.Path, "!/app/old.txt") && !strings.HasPrefix(f.Layer, "sha256:") {
			t.Errorf("deleted file finding has layer %q, want the digest of the layer that wrote it", f.Layer)
		}
	}
}

func TestRegistryBasicAuth(t *testing.T) {
	user, pass := "ci", fixture.Password(510, 20)
	reg := quietRegistry()
	host := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	ref, _ := name.ParseReference(host+"/private/app:1", name.Insecure)
	if err := remote.Write(ref, testImage(t), remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: user, Password: pass}))); err != nil {
		t.Fatal(err)
	}
	target := "docker://" + host + "/private/app:1"
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, _, err := scan(t, target, image.Options{Insecure: true}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("scan without credentials: %v, want a 401 message", err)
	} else if strings.Contains(err.Error(), pass) {
		t.Errorf("error %q holds the password", err)
	}
	fs, _, err := scan(t, target, image.Options{Insecure: true, Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(target, fs); got != wantSummary {
		t.Errorf("findings:\n%s\nwant:\n%s", got, wantSummary)
	}
}

func TestMultiPlatformIndexSharesLayers(t *testing.T) {
	shared := tarLayer(t, map[string]string{"etc/shared.conf": "k=" + planted["KEPT"] + "\n"})
	amd := tarLayer(t, map[string]string{"bin/amd": "x=" + planted["ENV"] + "\n"})
	arm := tarLayer(t, map[string]string{"bin/arm": "x=" + planted["ARG"] + "\n"})
	mk := func(l v1.Layer) v1.Image {
		img, err := mutate.AppendLayers(empty.Image, shared, l)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: mk(amd), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: mk(arm), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	host := serve(t, quietRegistry())
	ref, _ := name.ParseReference(host+"/multi:1", name.Insecure)
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	target := "docker://" + host + "/multi:1"
	fs, _, err := scan(t, target, image.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "known:ARG !/bin/arm\nknown:ENV !/bin/amd\nknown:KEPT !/etc/shared.conf"
	if got := summary(target, fs); got != want {
		t.Errorf("findings:\n%s\nwant (the shared layer once):\n%s", got, want)
	}
	fs, _, err = scan(t, target, image.Options{Insecure: true, Platform: "linux/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(target, fs), "known:ARG !/bin/arm\nknown:KEPT !/etc/shared.conf"; got != want {
		t.Errorf("--platform linux/arm64 findings:\n%s\nwant:\n%s", got, want)
	}
}

func TestArchivesAndLayouts(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t)
	tag, _ := name.NewTag("example.com/app:1.0")
	archive := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "1.0"})); err != nil {
		t.Fatal(err)
	}
	ociArchive := filepath.Join(dir, "app-oci.tar")
	if out, err := exec.Command("tar", "-cf", ociArchive, "-C", filepath.Join(dir, "layout"), ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	for _, target := range []string{
		"docker-archive:" + archive,
		"docker-archive:" + archive + ":example.com/app:1.0",
		"oci:" + filepath.Join(dir, "layout"),
		"oci:" + filepath.Join(dir, "layout") + ":1.0",
		"oci-archive:" + ociArchive,
	} {
		fs, _, err := scan(t, target, image.Options{})
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		if got := summary(target, fs); got != wantSummary {
			t.Errorf("%s findings:\n%s\nwant:\n%s", target, got, wantSummary)
		}
	}
}

// TestSkopeo scans images written by an independent tool: skopeo copies
// the test image between oci:, docker-archive:, oci-archive: and a
// registry.
func TestSkopeo(t *testing.T) {
	skopeo := fixture.Tool(t, "skopeo", "apt-get install skopeo")
	dir := t.TempDir()
	lp, err := layout.Write(filepath.Join(dir, "src"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	// skopeo's OCI layouts take OCI media types only.
	oci := mutate.ConfigMediaType(mutate.MediaType(typedImage(t, types.OCILayer), types.OCIManifestSchema1), types.OCIConfigJSON)
	if err := lp.AppendImage(oci, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"})); err != nil {
		t.Fatal(err)
	}
	host := serve(t, quietRegistry())
	src := "oci:" + filepath.Join(dir, "src") + ":v1"
	copies := []string{
		"docker-archive:" + filepath.Join(dir, "skopeo.tar") + ":example.com/app:v1",
		"oci-archive:" + filepath.Join(dir, "skopeo-oci.tar") + ":v1",
		"oci:" + filepath.Join(dir, "skopeo-layout") + ":v1",
		"docker://" + host + "/skopeo/app:v1",
	}
	policy := filepath.Join(dir, "policy.json")
	os.WriteFile(policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}]}`), 0o644)
	for _, dst := range copies {
		cmd := exec.Command(skopeo, "--policy", policy, "copy", "--dest-tls-verify=false", src, dst)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s %s: %v\n%s", src, dst, err, out)
		}
		target := dst
		if strings.HasPrefix(dst, "docker-archive:") {
			target = strings.TrimSuffix(dst, ":example.com/app:v1")
		}
		fs, _, err := scan(t, target, image.Options{Insecure: true})
		if err != nil {
			t.Errorf("%s: %v", target, err)
			continue
		}
		if got := summary(target, fs); got != wantSummary {
			t.Errorf("%s (written by skopeo) findings:\n%s\nwant:\n%s", target, got, wantSummary)
		}
	}
}

func TestBadTargets(t *testing.T) {
	host := serve(t, quietRegistry())
	noise := []byte(fixture.Password(520, 64<<10)) // incompressible: a large blob
	push(t, host, "ok:1", testImage(t, tarLayer(t, map[string]string{"noise.bin": string(noise)})))
	// A registry that cuts every large blob (the layers, not the config) short.
	truncating := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
			resp, err := http.Get("http://" + host + r.URL.Path)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			if len(body) > 10000 {
				body = body[:len(body)/2]
			}
			w.Write(body)
			return
		}
		httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: host}).ServeHTTP(w, r)
	}))
	for _, tt := range []struct{ target, want string }{
		{"docker:/x", "want docker://REF"},
		{"ftp://example.com/x", "unknown transport"},
		{"docker://UPPER/Case::bad", "image"},
		{"docker://127.0.0.1:1/nothing:1", "connect"},
		{"docker://" + host + "/missing:1", "404"},
		{"oci:/no/such/layout", "reading the OCI layout"},
		{"docker-archive:/no/such.tar", "reading the docker-archive"},
	} {
		_, _, err := scan(t, tt.target, image.Options{Insecure: true})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("scan(%s) = %v, want an error with %q", tt.target, err, tt.want)
		}
	}
	// A truncated layer blob: a warning and an incomplete entry naming the
	// layer; the config is still scanned.
	fs, src, err := scan(t, "docker://"+truncating+"/ok:1", image.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if inc := strings.Join(src, "\n"); !strings.Contains(inc, "layer:sha256:") {
		t.Errorf("incomplete = %q, want the truncated layer named", inc)
	}
	if !strings.Contains(summary("", fs), "config:Env") {
		t.Errorf("findings %v: want the config still scanned", summary("", fs))
	}
}

func TestForeignLayerIsReported(t *testing.T) {
	foreign := &foreignLayer{Layer: tarLayer(t, map[string]string{"x": "y"})}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: foreign, MediaType: types.DockerForeignLayer,
		URLs: []string{"https://example.com/blob"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lp, _ := layout.Write(dir, empty.Index)
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	_, src, err := scan(t, "oci:"+dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if inc := strings.Join(src, "\n"); !strings.Contains(inc, "foreign layer") {
		t.Errorf("incomplete = %q, want the foreign layer reported", inc)
	}
}

type foreignLayer struct{ v1.Layer }

func (foreignLayer) MediaType() (types.MediaType, error) { return types.DockerForeignLayer, nil }

// TestDockerDaemonWithPodman reads an image through the Docker API that
// podman serves (podman system service), as docker-daemon: does with
// DOCKER_HOST. It skips, saying why, where podman or its service cannot run.
func TestDockerDaemonWithPodman(t *testing.T) {
	podman := fixture.Tool(t, "podman", "apt-get install podman runc")
	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644)
	t.Setenv("CONTAINERS_CONF", conf)
	global := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--storage-driver", "vfs"}
	rootfs := filepath.Join(dir, "rootfs.tar")
	f, _ := os.Create(rootfs)
	tw := tar.NewWriter(f)
	body := "TOKEN=" + planted["KEPT"] + "\n"
	tw.WriteHeader(&tar.Header{Name: "app/.env", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	f.Close()
	if out, err := exec.Command(podman, append(global, "import", rootfs, "localhost/sgtest:1")...).CombinedOutput(); err != nil {
		t.Skipf("podman cannot import an image here: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "podman.sock")
	svc := exec.Command(podman, append(global, "system", "service", "--time=0", "unix://"+sock)...)
	if err := svc.Start(); err != nil {
		t.Skipf("podman system service cannot start: %v", err)
	}
	defer func() { svc.Process.Kill(); svc.Wait() }()
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i == 100 {
			t.Skip("podman system service did not open its socket within 10 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	target := "docker-daemon:localhost/sgtest:1"
	fs, _, err := scan(t, target, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(target, fs), "known:KEPT !/app/.env"; got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}
