package files

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretgate/secretgate/scanner/source"
)

// order records the paths it is handed.
type order struct {
	source.Walker
	paths []string
}

func (o *order) Visit(c source.Content) error {
	o.paths = append(o.paths, c.Path)
	return nil
}

// TestExpandingFilesGoAhead: a compressed file or an archive is handed on
// as soon as it is found, ahead of the files found before it that are still
// pending; the others keep their order, and none is lost or repeated,
// whether the window fills or the walk ends first.
func TestExpandingFilesGoAhead(t *testing.T) {
	found := []string{"a.go", "b.txt", "c.go", "d.tar.GZ", "e.go", "f.md", "g.go", "h.jar", "i.go", "j.bz2"}
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{limit: 100, want: []string{"d.tar.GZ", "h.jar", "j.bz2", "a.go", "b.txt", "c.go", "e.go", "f.md", "g.go", "i.go"}},
		{limit: 3, want: []string{"a.go", "d.tar.GZ", "b.txt", "c.go", "e.go", "h.jar", "f.md", "j.bz2", "g.go", "i.go"}},
		{limit: 1, want: found}, // nothing held: the order found
	} {
		o := &order{}
		q := costlyFirst{w: o, limit: tc.limit}
		for _, name := range found {
			if err := q.visit(source.Content{Path: name}, expands(name)); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.flush(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, o.paths); diff != "" {
			t.Errorf("limit %d: order (-want +got):\n%s", tc.limit, diff)
		}
		if got := slices.Sorted(slices.Values(o.paths)); !slices.Equal(got, found) {
			t.Errorf("limit %d: handed on %v, want each of %v once", tc.limit, got, found)
		}
	}
}

// TestWalkStartsCostlyFilesFirst: walking a tree, a large file and a
// compressed one are handed on before the small files found before them,
// and every file is handed on once.
func TestWalkStartsCostlyFilesFirst(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", 10)
	write("b.go", 10)
	write("c.bin", largeFile)
	write("d.go", 10)
	write("e.txt.gz", 10)
	write("f.go", largeFile-1)
	o := &order{}
	if err := (Path{Root: dir}).Walk(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	want := []string{"c.bin", "e.txt.gz", "a.go", "b.go", "d.go", "f.go"}
	if diff := cmp.Diff(want, o.paths); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
