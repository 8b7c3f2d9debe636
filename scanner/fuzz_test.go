package scanner_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/image"
	"github.com/secretgate/secretgate/scanner/source"
)

// bytesSource is one content of raw bytes, as an archive member would be.
type bytesSource []byte

func (bytesSource) Name() string { return "fuzz" }
func (b bytesSource) Walk(_ context.Context, w source.Walker) error {
	return w.Visit(source.Content{Path: "input", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}})
}

// fuzzLimits keeps one input cheap: bombs are cut, not followed.
var fuzzLimits = scanner.Limits{MaxTotal: 64 << 20, MaxMember: 16 << 20, MaxEntries: 1000, MemoryBudget: 1 << 20}

// FuzzArchive feeds the archive opener anything: it must never panic or
// hang, and every problem must be an incomplete entry, not an error.
func FuzzArchive(f *testing.F) {
	props := []byte("password=" + secret + "\n")
	f.Add(tarOf(f, entry{"a.txt", props}))
	f.Add(zipOf(f, entry{"a/b.properties", props}))
	f.Add(gzipOf(tarOf(f, entry{"x", props})))
	f.Add(append([]byte("#!/bin/sh\nexec java\n"), zipOf(f, entry{"c", props})...))
	f.Add(v7Tar("old.txt", props))
	f.Add(zipOf(f, entry{"inner.zip", zipOf(f, entry{"deep.txt", props})}))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := scanner.Scan(context.Background(), []scanner.Source{bytesSource(data)}, []scanner.Detector{detector()},
			scanner.Options{Limits: fuzzLimits, Workers: 1})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if len(res.Failed) > 0 {
			t.Fatalf("a content failed the whole target: %v", res.Failed)
		}
	})
}

// FuzzImage feeds the image reader any docker save tarball: it must never
// panic or hang; a bad image is an error or incomplete entries.
func FuzzImage(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.tar")
	writeDockerArchive(f, seed)
	data, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(tarOf(f, entry{"manifest.json", []byte(`[{"Config":"c.json","Layers":["l.tar"]}]`)}, entry{"c.json", []byte(`{"rootfs":{"diff_ids":["sha256:00"]}}`)}))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "img.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src := image.At("docker-archive", p, image.Options{MaxLayer: 64 << 20})
		if _, err := scanner.Scan(context.Background(), []scanner.Source{src}, []scanner.Detector{detector()},
			scanner.Options{Limits: fuzzLimits, Workers: 1}); err != nil {
			t.Fatalf("Scan: %v", err)
		}
	})
}

// writeDockerArchive writes a docker save tarball by hand: one layer with
// a planted secret, its config and manifest.
func writeDockerArchive(t testing.TB, path string) {
	layer := tarOf(t, entry{"app/.env", []byte("TOKEN=" + secret + "\n")})
	sum := sha256.Sum256(layer)
	diffID := "sha256:" + hex.EncodeToString(sum[:])
	config := []byte(`{"architecture":"amd64","os":"linux","config":{"Env":["A=1"]},"rootfs":{"type":"layers","diff_ids":["` +
		diffID + `"]},"history":[{"created_by":"COPY app /app"}]}`)
	manifest := []byte(`[{"Config":"config.json","RepoTags":["example.com/app:1"],"Layers":["layer.tar"]}]`)
	if err := os.WriteFile(path, tarOf(t, entry{"layer.tar", layer}, entry{"config.json", config}, entry{"manifest.json", manifest}), 0o644); err != nil {
		t.Fatal(err)
	}
}
