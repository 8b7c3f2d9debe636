package files_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretgate/secretgate/scanner/files"
	"github.com/secretgate/secretgate/scanner/source"
)

// walker records what a walk yields.
type walker struct {
	visited, nested, incomplete, warned []string
	covered                             map[string]bool
}

func (w *walker) Visit(c source.Content) error {
	w.visited = append(w.visited, c.Path+" id="+c.ID)
	if c.Covered != nil {
		w.covered[c.Path] = true
	}
	return nil
}
func (w *walker) Nest(s source.Source)              { w.nested = append(w.nested, s.Name()) }
func (w *walker) Incomplete(path string, err error) { w.incomplete = append(w.incomplete, path) }
func (w *walker) Warn(err error)                    { w.warned = append(w.warned, err.Error()) }

type named string

func (n named) Name() string                              { return string(n) }
func (n named) Walk(context.Context, source.Walker) error { return nil }

func mk(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNestedKeepsTheRest: a directory or file that is also an image is
// nested AND walked; only what the nested source covers is left out.
func TestNestedKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	mk(t, dir, "layout/index.json", "{}")
	mk(t, dir, "layout/blobs/sha256/aa", "covered")
	mk(t, dir, "layout/README", "not covered")
	mk(t, dir, "saved.tar", "tar")
	mk(t, dir, "src/main.go", "package main")
	nested := func(path string, isDir bool, size int64) (source.Source, func(string) bool) {
		switch filepath.Base(path) {
		case "layout":
			return named("oci:" + path), func(n string) bool { return n != "README" }
		case "saved.tar":
			return named("docker-archive:" + path), func(string) bool { return true }
		}
		return nil, nil
	}
	w := &walker{covered: map[string]bool{}}
	if err := (files.Path{Root: dir, Nested: nested}).Walk(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	sort.Strings(w.visited)
	want := []string{"layout/README id=layout/README", "saved.tar id=saved.tar", "src/main.go id=src/main.go"}
	if diff := cmp.Diff(want, w.visited); diff != "" {
		t.Errorf("visited (-want +got):\n%s", diff)
	}
	if got := strings.Join(w.nested, " "); !strings.Contains(got, "oci:") || !strings.Contains(got, "docker-archive:") {
		t.Errorf("nested = %q, want the layout and the tarball", got)
	}
	if !w.covered["saved.tar"] {
		t.Errorf("saved.tar was visited without what its image covers")
	}
}

// TestUnreadableIsIncomplete: a directory that cannot be listed is an
// incomplete entry, and the walk goes on.
func TestUnreadableIsIncomplete(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads any directory; a directory that vanishes mid-walk is the
		// same error path, so make one vanish instead.
		t.Log("running as root: a directory that vanishes stands for one that cannot be read")
	}
	dir := t.TempDir()
	mk(t, dir, "a/x.txt", "x")
	mk(t, dir, "b/y.txt", "y")
	w := &walker{covered: map[string]bool{}}
	nested := func(path string, isDir bool, size int64) (source.Source, func(string) bool) {
		if filepath.Base(path) == "a" {
			os.RemoveAll(path) // vanishes between being listed and being read
		}
		return nil, nil
	}
	if err := (files.Path{Root: dir, Nested: nested}).Walk(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.incomplete, " "); got != "a" {
		t.Errorf("incomplete = %q, want the vanished directory a", got)
	}
	if got := strings.Join(w.visited, " "); !strings.Contains(got, "b/y.txt") {
		t.Errorf("visited = %q, want the walk to go on to b/y.txt", got)
	}
}

// TestSpecialFilesAreSaid: a FIFO is not read (it could block forever), and
// the user is told.
func TestSpecialFilesAreSaid(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	w := &walker{covered: map[string]bool{}}
	if err := (files.Path{Root: dir}).Walk(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if len(w.visited) != 0 || len(w.warned) != 1 || !strings.Contains(w.warned[0], "pipe") {
		t.Errorf("visited %v, warned %v: want the FIFO skipped with a warning", w.visited, w.warned)
	}
}

// TestIDsFollowTheWorkTree: a file's ID is its path in the git work tree,
// whichever directory the scan starts from.
func TestIDsFollowTheWorkTree(t *testing.T) {
	repo := t.TempDir()
	mk(t, repo, ".git/HEAD", "ref: refs/heads/main\n")
	mk(t, repo, "src/app/config.go", "x")
	for _, root := range []string{repo, filepath.Join(repo, "src"), filepath.Join(repo, "src", "app", "config.go")} {
		w := &walker{covered: map[string]bool{}}
		if err := (files.Path{Root: root}).Walk(context.Background(), w); err != nil {
			t.Fatal(err)
		}
		if len(w.visited) != 1 || !strings.HasSuffix(w.visited[0], " id=src/app/config.go") {
			t.Errorf("scan %s: visited %v, want id=src/app/config.go", root, w.visited)
		}
	}
}
