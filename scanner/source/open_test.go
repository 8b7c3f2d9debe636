package source

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestFile reads a file every way the scanner does: in pieces to its end,
// at random, after seeking, and its size; and closes it once.
func TestFile(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(f, 1000))
	if err != nil || !bytes.Equal(got, want[:1000]) {
		t.Fatalf("first 1000 bytes: %v, equal %v", err, bytes.Equal(got, want[:1000]))
	}
	rest, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(rest, want[1000:]) {
		t.Fatalf("rest: %v, equal %v", err, bytes.Equal(rest, want[1000:]))
	}
	if n, err := f.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("read at the end: %d, %v; want 0, EOF", n, err)
	}
	at := make([]byte, 20)
	if n, err := f.ReadAt(at, 5); n != 20 || err != nil || !bytes.Equal(at, want[5:25]) {
		t.Errorf("ReadAt(20, 5): %d %v %q", n, err, at)
	}
	if n, err := f.ReadAt(at, int64(len(want))-7); n != 7 || err != io.EOF {
		t.Errorf("ReadAt past the end: %d, %v; want 7, EOF", n, err)
	}
	if pos, err := f.Seek(3, io.SeekStart); pos != 3 || err != nil {
		t.Errorf("Seek: %d, %v", pos, err)
	}
	if n, _ := f.Read(at[:4]); n != 4 || string(at[:4]) != "3456" {
		t.Errorf("read after seek: %q", at[:n])
	}
	if size, err := f.Size(); size != int64(len(want)) || err != nil {
		t.Errorf("Size: %d, %v; want %d", size, err, len(want))
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := f.Close(); err == nil {
		t.Error("second Close: no error")
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open of a missing file: %v, want not exist", err)
	}
}
