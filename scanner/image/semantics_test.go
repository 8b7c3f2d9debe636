package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/image"
)

// tarEntry is one entry of a hand-built layer.
type tarEntry struct {
	name, body, link string
	typ              byte
}

func entriesLayer(t *testing.T, entries ...tarEntry) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: e.typ, Linkname: e.link}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body[:h.Size]))
	}
	tw.Close()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestDeletedByAnyMeans: a file is deleted when a later layer removes it by
// any means; hard-linked content lives at the name that survives.
func TestDeletedByAnyMeans(t *testing.T) {
	kv := func(k string) string { return "k=" + planted[k] + "\n" }
	l1 := entriesLayer(t,
		tarEntry{name: "a/symlinked.txt", body: kv("KEPT"), typ: tar.TypeReg},
		tarEntry{name: "b/dirred.txt", body: kv("DELETED"), typ: tar.TypeReg},
		tarEntry{name: "c/d/y.txt", body: kv("OPAQUE"), typ: tar.TypeReg},
		tarEntry{name: "h/orig", body: kv("ENV"), typ: tar.TypeReg},
		tarEntry{name: "h/link", link: "h/orig", typ: tar.TypeLink},
		tarEntry{name: "s/stays.txt", body: kv("LABEL"), typ: tar.TypeReg},
	)
	l2 := entriesLayer(t,
		tarEntry{name: "a/symlinked.txt", link: "/etc/passwd", typ: tar.TypeSymlink},
		tarEntry{name: "b/dirred.txt/", typ: tar.TypeDir},
		tarEntry{name: "c/d", body: "now a file\n", typ: tar.TypeReg},
		tarEntry{name: "h/.wh.orig", typ: tar.TypeReg},
		tarEntry{name: "s/", typ: tar.TypeDir}, // a directory entry again: its files stay
	)
	img, err := mutate.AppendLayers(empty.Image, l1, l2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lp, _ := layout.Write(dir, empty.Index)
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	target := "oci:" + dir
	fs, inc, err := scan(t, target, image.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatalf("scan: %v, incomplete %v", err, inc)
	}
	want := strings.Join([]string{
		"known:DELETED !/b/dirred.txt deleted",
		"known:ENV !/h/link",
		"known:KEPT !/a/symlinked.txt deleted",
		"known:LABEL !/s/stays.txt",
		"known:OPAQUE !/c/d/y.txt deleted",
	}, "\n")
	if got := summary(target, fs); got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
}

// TestLayerDigestsCanBeFound: the layer a finding names is one the user can
// find: the blob digest in an OCI layout's manifest, the diff_id of the
// config for a docker save tarball.
func TestLayerDigestsCanBeFound(t *testing.T) {
	img := testImage(t)
	m, _ := img.Manifest()
	cf, _ := img.ConfigFile()
	dir := t.TempDir()
	archive := filepath.Join(dir, "app.tar")
	tag, _ := name.NewTag("example.com/app:1")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	lp, _ := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	lp.AppendImage(img)
	for target, known := range map[string][]v1.Hash{
		"docker-archive:" + archive:           cf.RootFS.DiffIDs,
		"oci:" + filepath.Join(dir, "layout"): {m.Layers[0].Digest, m.Layers[1].Digest},
	} {
		fs, _, err := scan(t, target, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Layer == "" {
				continue
			}
			found := false
			for _, h := range known {
				found = found || h.String() == f.Layer
			}
			if !found {
				t.Errorf("%s: %s names layer %s, which is not in %v", target, f.Path, f.Layer, known)
			}
		}
	}
}

// TestFingerprintsIgnoreTagAndTransport: the same image's findings have the
// same fingerprints whatever transport or tag reaches it.
func TestFingerprintsIgnoreTagAndTransport(t *testing.T) {
	img := testImage(t)
	dir := t.TempDir()
	for i, tg := range []string{"example.com/app:1.0", "example.com/app:1.1"} {
		tag, _ := name.NewTag(tg)
		tarball.WriteToFile(filepath.Join(dir, []string{"a.tar", "b.tar"}[i]), tag, img)
	}
	lp, _ := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	lp.AppendImage(img)
	var first map[string]string
	for _, target := range []string{"docker-archive:" + filepath.Join(dir, "a.tar"), "docker-archive:" + filepath.Join(dir, "b.tar"),
		"oci:" + filepath.Join(dir, "layout")} {
		fs, _, err := scan(t, target, image.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, f := range fs {
			got[strings.TrimPrefix(f.Path, target)] = f.Fingerprint
		}
		if first == nil {
			first = got
			continue
		}
		for p, fp := range first {
			if got[p] != fp {
				t.Errorf("%s: %s fingerprint %s, want %s as for the first target", target, p, got[p], fp)
			}
		}
	}
}

// TestPlatformOnEveryTransport: --platform picks a matching single image on
// every transport, refuses one that does not match, and linux/arm64/v8 is
// linux/arm64.
func TestPlatformOnEveryTransport(t *testing.T) {
	img := testImage(t)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", "arm64", "v8"
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tag, _ := name.NewTag("example.com/app:1")
	archive := filepath.Join(dir, "app.tar")
	tarball.WriteToFile(archive, tag, img)
	host := serve(t, quietRegistry())
	push(t, host, "app:1", img)
	for _, target := range []string{"docker-archive:" + archive, "docker://" + host + "/app:1"} {
		if _, _, err := scan(t, target, image.Options{Insecure: true, Platform: "linux/arm64"}); err != nil {
			t.Errorf("%s --platform linux/arm64: %v, want the linux/arm64/v8 image scanned", target, err)
		}
		_, _, err := scan(t, target, image.Options{Insecure: true, Platform: "linux/amd64"})
		if err == nil || !strings.Contains(err.Error(), "not linux/amd64") {
			t.Errorf("%s --platform linux/amd64: %v, want an error naming the mismatch", target, err)
		}
	}
}

// writeBlob puts raw bytes into a layout under a digest of our choosing.
func writeBlob(t *testing.T, dir string, digest string, raw []byte) {
	t.Helper()
	p := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestHostileLayouts: indexes that reference themselves or nest without
// end are a clear error, not a stack overflow; a blob whose content does
// not match its digest is an incomplete entry.
func TestHostileLayouts(t *testing.T) {
	index := func(children ...string) []byte {
		var ms []map[string]any
		for _, c := range children {
			ms = append(ms, map[string]any{"mediaType": string(types.OCIImageIndex), "digest": c, "size": 100})
		}
		b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": string(types.OCIImageIndex), "manifests": ms})
		return b
	}
	layoutAt := func(top []byte) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644)
		return dir
	}
	// An index blob that names itself (a layout does not check digests).
	self := "sha256:" + strings.Repeat("ab", 32)
	loop := layoutAt(index(self))
	writeBlob(t, loop, self, index(self))
	// A chain of distinct indexes 20 deep.
	deep := t.TempDir()
	next := ""
	for i := range 20 {
		raw := index()
		if next != "" {
			raw = index(next)
		}
		raw = append(raw, bytes.Repeat([]byte(" "), i)...) // distinct digests
		next = sha(raw)
		writeBlob(t, deep, next, raw)
	}
	os.WriteFile(filepath.Join(deep, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	os.WriteFile(filepath.Join(deep, "index.json"), index(next), 0o644)
	for dir, want := range map[string]string{loop: "references itself", deep: "nested more than"} {
		_, _, err := scan(t, "oci:"+dir, image.Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("oci:%s: %v, want an error with %q", dir, err, want)
		}
	}

	// A layer blob altered after the fact.
	dir := t.TempDir()
	lp, _ := layout.Write(dir, empty.Index)
	img := testImage(t)
	lp.AppendImage(img)
	m, _ := img.Manifest()
	l := m.Layers[0].Digest
	p := filepath.Join(dir, "blobs", l.Algorithm, l.Hex)
	raw, _ := os.ReadFile(p)
	layer, _ := img.LayerByDigest(l)
	rc, _ := layer.Uncompressed()
	plain, _ := io.ReadAll(rc)
	altered := gzipBytes(append(plain[:len(plain):len(plain)], make([]byte, 1024)...))
	if bytes.Equal(raw, altered) {
		t.Fatal("the altered blob is the same")
	}
	os.WriteFile(p, altered, 0o644)
	fs, inc, err := scan(t, "oci:"+dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(inc, "\n"); !strings.Contains(got, "does not match its digest") {
		t.Errorf("incomplete = %q, want the digest mismatch", got)
	}
	if !strings.Contains(summary("oci:"+dir, fs), "config:Env") {
		t.Errorf("findings %s: want the rest still scanned", summary("", fs))
	}
}

// TestMissingLayerOfArchive: a docker save tarball missing one layer file is
// an incomplete entry; the other layers and the config are still scanned.
func TestMissingLayerOfArchive(t *testing.T) {
	img := testImage(t)
	dir := t.TempDir()
	full := filepath.Join(dir, "full.tar")
	tag, _ := name.NewTag("example.com/app:1")
	if err := tarball.WriteToFile(full, tag, img); err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	drop := cf.RootFS.DiffIDs[1] // the second layer, by its file name
	in, _ := os.Open(full)
	defer in.Close()
	cut := filepath.Join(dir, "cut.tar")
	out, _ := os.Create(cut)
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	m, _ := img.Manifest()
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if strings.Contains(h.Name, m.Layers[1].Digest.Hex) || strings.Contains(h.Name, drop.Hex) {
			continue
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	tw.Close()
	out.Close()
	target := "docker-archive:" + cut
	fs, inc, err := scan(t, target, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) == 0 {
		t.Errorf("no incomplete entry for the missing layer; findings:\n%s", summary(target, fs))
	}
	t.Log(inc)
	if got := summary(target, fs); !strings.Contains(got, "!/app/old.txt") || !strings.Contains(got, "config:Env") {
		t.Errorf("findings:\n%s\nwant the first layer and the config still scanned", got)
	}
}

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// TestImagesOnDiskAreAlsoWhatTheyAre: an image met while walking a
// directory is scanned as an image AND as what it is on disk (what the
// image does not cover); something that only looks like an image is
// scanned as what it is; odd names are names.
func TestImagesOnDiskAreAlsoWhatTheyAre(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t)
	tag, _ := name.NewTag("example.com/app:1.0")
	extra := "NOTE=" + planted["LABEL"] + "\n"
	// A docker save tarball with a member its manifest does not name.
	saved := filepath.Join(dir, "app:1.0.tar")
	if err := tarball.WriteToFile(saved, tag, img); err != nil {
		t.Fatal(err)
	}
	appendMember(t, saved, "notes/extra.txt", extra)
	// An OCI layout directory with a file of its own.
	lp, _ := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	lp.AppendImage(img)
	os.WriteFile(filepath.Join(dir, "layout", "README.txt"), []byte(extra), 0o644)
	// A web app's bundle: a tar with a manifest.json that is no image's.
	web := filepath.Join(dir, "web.tar")
	writeTar(t, web, map[string]string{"manifest.json": `{"name":"app","icons":[]}`, "config.js": extra})
	// A directory whose name reads like a transport.
	os.MkdirAll(filepath.Join(dir, "oci:x"), 0o755)
	os.WriteFile(filepath.Join(dir, "oci:x", "a.txt"), []byte(extra), 0o644)

	res := scanTargets(t, dir)
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Target+" "+f.Path)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"docker-archive:" + saved + " docker-archive:" + saved + "!/app/config.env", // the image
		dir + " app:1.0.tar!notes/extra.txt",                                        // and the tar
		"oci:" + filepath.Join(dir, "layout") + " oci:" + filepath.Join(dir, "layout") + "!/app/config.env",
		dir + " layout/README.txt",
		dir + " web.tar!config.js",
		dir + " oci:x/a.txt",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no finding %q in:\n%s", want, all)
		}
	}
	for _, unwanted := range []string{"blobs/sha256", "app:1.0.tar!manifest.json", "docker-archive:" + web} {
		if strings.Contains(all, unwanted) {
			t.Errorf("finding with %q (scanned twice, or as an image it is not):\n%s", unwanted, all)
		}
	}
	if len(res.Incomplete) > 0 || len(res.Failed) > 0 {
		t.Errorf("incomplete %v, failed %v: want none", res.Incomplete, res.Failed)
	}
	// The names, as targets of their own.
	for _, target := range []string{saved, filepath.Join(dir, "oci:x")} {
		if res := scanTargets(t, target); len(res.Findings) == 0 {
			t.Errorf("scan %s: no findings, want it scanned as the path it is", target)
		}
	}
}

// TestTarOfAnySizeIsRead: the walker takes a file for an image only when
// its size is whole tar records (it spares opening every other file of a
// tree); a saved image with bytes after its end is not taken for one, but
// is still read, as the tar it is, down to its layers' files.
func TestTarOfAnySizeIsRead(t *testing.T) {
	dir := t.TempDir()
	tag, _ := name.NewTag("example.com/app:1.0")
	saved := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(saved, tag, testImage(t)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(saved, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("trailing bytes"))
	f.Close()

	res := scanTargets(t, dir)
	found := false
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Target, "docker-archive:") {
			t.Errorf("finding %s %s: a file that is not whole 512-byte records was read as an image", f.Target, f.Path)
		}
		found = found || f.Target == dir && strings.HasPrefix(f.Path, "app.tar!") && strings.HasSuffix(f.Path, "app/config.env")
	}
	if !found {
		t.Errorf("no finding in app.tar's layer's app/config.env: %+v", res.Findings)
	}
	if len(res.Incomplete) > 0 {
		t.Errorf("incomplete %v, want none", res.Incomplete)
	}
}

// TestSeveralImagesInOneArchive: podman save -m writes several images into
// one docker-archive: each is scanned.
func TestSeveralImagesInOneArchive(t *testing.T) {
	a := testImage(t)
	b, _ := mutate.AppendLayers(empty.Image, tarLayer(t, map[string]string{"b/only.txt": "k=" + planted["ARG"] + "\n"}))
	ta, _ := name.NewTag("example.com/a:1")
	tb, _ := name.NewTag("example.com/b:1")
	p := filepath.Join(t.TempDir(), "both.tar")
	if err := tarball.MultiRefWriteToFile(p, map[name.Reference]v1.Image{ta: a, tb: b}); err != nil {
		t.Fatal(err)
	}
	target := "docker-archive:" + p
	fs, inc, err := scan(t, target, image.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatalf("scan: %v, incomplete %v", err, inc)
	}
	got := summary(target, fs)
	if !strings.Contains(got, "!/b/only.txt") || !strings.Contains(got, "!/app/config.env") {
		t.Errorf("findings:\n%s\nwant both images' files", got)
	}
	fs, _, err = scan(t, target+":example.com/b:1", image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(target+":example.com/b:1", fs); got != "known:ARG !/b/only.txt" {
		t.Errorf("with REF, findings:\n%s\nwant only image b's", got)
	}
}

func scanTargets(t *testing.T, target string) *scanner.Result {
	t.Helper()
	src, err := scanner.Open(target, scanner.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := scanner.Scan(context.Background(), []scanner.Source{src}, []scanner.Detector{detector()}, scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func writeTar(t *testing.T, p string, files map[string]string) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	f.Close()
}

// appendMember adds a member to a tar file, over its end marker.
func appendMember(t *testing.T, p, name, body string) {
	t.Helper()
	in, _ := os.ReadFile(p)
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(in)), tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		tw.WriteHeader(h)
		io.Copy(tw, tr)
	}
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	if err := os.WriteFile(p, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
