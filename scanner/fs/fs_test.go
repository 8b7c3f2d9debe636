package fs

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/scanner"
)

func TestWalkFindsImages(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, body string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("layout/oci-layout", `{"imageLayoutVersion":"1.0.0"}`)
	mk("layout/index.json", `{}`)
	mk("layout/blobs/sha256/abc", "blob")
	mk("src/main.go", "package main")
	writeTar := func(name string, entries ...string) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		tw := tar.NewWriter(f)
		for _, e := range entries {
			tw.WriteHeader(&tar.Header{Name: e, Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
			tw.Write([]byte("{}"))
		}
		tw.Close()
		f.Close()
	}
	writeTar("saved.tar", "abc.tar", "manifest.json")
	writeTar("oci.tar", "./oci-layout", "./index.json", "./blobs/sha256/x")
	writeTar("plain.tar", "a.txt")

	var images, files []string
	err := Path{Root: dir, Image: func(t string) { images = append(images, strings.ReplaceAll(t, dir, "D")) }}.Walk(
		context.Background(), func(c scanner.Content) error { files = append(files, c.Path); return nil }, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(images)
	sort.Strings(files)
	if got, want := strings.Join(images, " "), "docker-archive:D/saved.tar oci-archive:D/oci.tar oci:D/layout"; got != want {
		t.Errorf("images = %q, want %q", got, want)
	}
	if got, want := strings.Join(files, " "), "plain.tar src/main.go"; got != want {
		t.Errorf("files = %q, want %q (an image is not also scanned as files)", got, want)
	}
}
