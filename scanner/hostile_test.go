package scanner_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/source"
)

// v7Tar writes one member as an old V7 tar does: no magic, only a
// checksummed header.
func v7Tar(name string, body []byte) []byte {
	h := make([]byte, 512)
	copy(h, name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", len(body)))
	copy(h[136:], "00000000000\x00")
	h[156] = 0 // V7: a NUL type is a regular file
	copy(h[148:], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	out := append(h, body...)
	out = append(out, make([]byte, (512-len(body)%512)%512)...)
	return append(out, make([]byte, 1024)...)
}

// typedTar writes members with the given tar types.
func typedTar(t *testing.T, typ byte, name string, body []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: typ, Format: tar.FormatGNU}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	return b.Bytes()
}

// TestArchivesAsRealToolsOpenThem: each archive is read as unzip, GNU tar
// or zcat would read it, and what cannot be read is an incomplete entry
// after what could be read has been scanned.
func TestArchivesAsRealToolsOpenThem(t *testing.T) {
	props := []byte("password=" + secret + "\n")
	gz := gzipOf(append(bytes.Repeat([]byte("filler line\n"), 2000), props...))
	script := []byte("#!/bin/sh\n# a launch script, as Spring Boot executable jars have\nexec java -jar \"$0\" \"$@\"\n")
	cases := []struct {
		name       string
		data       []byte
		want       string // a finding's path
		incomplete string // "" for none
	}{
		{"self-extracting.jar", append(append([]byte{}, script...), zipOf(t, entry{"BOOT-INF/classes/app.properties", props})...),
			"self-extracting.jar!BOOT-INF/classes/app.properties", ""},
		{"sfx.exe", append(append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 4000)...), zipOf(t, entry{"setup.ini", props})...),
			"sfx.exe!setup.ini", ""},
		{"contiguous.tar", typedTar(t, tar.TypeCont, "data.txt", props), "contiguous.tar!data.txt", ""},
		{"unknown-type.tar", typedTar(t, 'Z', "data.txt", props), "unknown-type.tar!data.txt", ""},
		{"v7.tar", v7Tar("old.txt", props), "v7.tar!old.txt", ""},
		{"padded.gz", append(append([]byte{}, gz...), make([]byte, 10240)...), "padded.gz", ""},
		{"two-members.gz", append(gzipOf([]byte("first\n")), gzipOf(props)...), "two-members.gz", ""},
		{"garbage-after.gz", append(append([]byte{}, gz...), []byte("not gzip at all")...), "garbage-after.gz", "data after the end of the gzip stream"},
		{"truncated.gz", gz[:len(gz)-12], "truncated.gz", "corrupt or truncated gzip"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, tc.name, tc.data)
			write(t, dir, "other.txt", props)
			res, _ := scanDir(t, dir, scanner.Limits{})
			got := strings.Join(paths(res), "\n")
			if !strings.Contains(got, tc.want+"\n") && !strings.HasSuffix(got, tc.want) {
				t.Errorf("findings:\n%s\nwant one in %s", got, tc.want)
			}
			if !strings.Contains(got, "other.txt") {
				t.Errorf("findings:\n%s\nwant other.txt still found", got)
			}
			inc := strings.Join(res.Incomplete, "\n")
			if tc.incomplete == "" && inc != "" || !strings.Contains(inc, tc.incomplete) {
				t.Errorf("incomplete = %q, want %q", inc, tc.incomplete)
			}
		})
	}
}

// TestZipDirectoryBoundBeforeReading: a zip that claims more entries than
// the limit is not read (Go's reader would hold its whole directory in
// memory): one incomplete entry, nothing allocated for the entries.
func TestZipDirectoryBoundBeforeReading(t *testing.T) {
	eocd := make([]byte, 22)
	copy(eocd, "PK\x05\x06")
	binary.LittleEndian.PutUint16(eocd[8:], 60000)
	binary.LittleEndian.PutUint16(eocd[10:], 60000)
	binary.LittleEndian.PutUint32(eocd[12:], 60000*46)
	dir := t.TempDir()
	write(t, dir, "many.zip", eocd)
	res, _ := scanDir(t, dir, scanner.Limits{MaxEntries: 1000})
	if inc := strings.Join(res.Incomplete, "\n"); !strings.Contains(inc, "claims 60000 entries") {
		t.Errorf("incomplete = %q, want the claimed entries refused", inc)
	}

	// Zip64: 5 million entries claimed, refused at the default limit
	// without the memory Go's reader would take for its directory.
	rec := make([]byte, 56)
	copy(rec, "PK\x06\x06")
	binary.LittleEndian.PutUint64(rec[4:], 44)
	binary.LittleEndian.PutUint64(rec[24:], 5_000_000)
	binary.LittleEndian.PutUint64(rec[32:], 5_000_000)
	binary.LittleEndian.PutUint64(rec[40:], 5_000_000*46)
	loc := make([]byte, 20)
	copy(loc, "PK\x06\x07")
	binary.LittleEndian.PutUint64(loc[8:], 0)
	end := make([]byte, 22)
	copy(end, "PK\x05\x06")
	binary.LittleEndian.PutUint16(end[8:], 0xffff)
	binary.LittleEndian.PutUint16(end[10:], 0xffff)
	binary.LittleEndian.PutUint32(end[12:], 0xffffffff)
	binary.LittleEndian.PutUint32(end[16:], 0xffffffff)
	dir = t.TempDir()
	write(t, dir, "five-million.zip", append(append(rec, loc...), end...))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, _ = scanDir(t, dir, scanner.Limits{})
	runtime.ReadMemStats(&after)
	if inc := strings.Join(res.Incomplete, "\n"); !strings.Contains(inc, "claims 5000000 entries") {
		t.Errorf("incomplete = %q, want the claimed entries refused", inc)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("scanning it allocated %d MiB, want the claim refused before any directory is read", grew>>20)
	}
}

// failing is a source whose contents fail in every way a file can.
type failing struct{}

func (failing) Name() string { return "failing" }

func (failing) Walk(_ context.Context, w source.Walker) error {
	open := func(r io.Reader, err error) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) {
			if err != nil {
				return nil, err
			}
			return io.NopCloser(r), nil
		}
	}
	w.Visit(source.Content{Path: "cannot-open", Open: open(nil, errors.New("open: permission denied"))})
	w.Visit(source.Content{Path: "fails-midway", Open: open(io.MultiReader(
		strings.NewReader("password="+secret+"\n"), &errReader{errors.New("read: input/output error")}), nil)})
	w.Incomplete("vanished", errors.New("lstat: no such file or directory"))
	return nil
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestFailuresAreIncomplete: a content that cannot be opened or read is an
// incomplete entry, never only a warning; what was read before a read
// error is still scanned.
func TestFailuresAreIncomplete(t *testing.T) {
	res, err := scanner.Scan(context.Background(), []scanner.Source{failing{}}, []scanner.Detector{detector()}, scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "cannot-open: open: permission denied\nfails-midway: read: input/output error\nvanished: lstat: no such file or directory"
	if got := strings.Join(res.Incomplete, "\n"); got != want {
		t.Errorf("incomplete:\n%s\nwant:\n%s", got, want)
	}
	if got := strings.Join(paths(res), " "); got != "fails-midway" {
		t.Errorf("findings in %q, want the part read before the error scanned", got)
	}
}

// brokenTarget cannot be read at all.
type brokenTarget struct{}

func (brokenTarget) Name() string { return "broken" }
func (brokenTarget) Walk(context.Context, source.Walker) error {
	return errors.New("registry unreachable")
}

// TestOneBadTargetHidesNothing: a target that cannot be read is one failed
// entry; the findings of the others are still reported.
func TestOneBadTargetHidesNothing(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", []byte("password="+secret+"\n"))
	src, err := scanner.Open(dir, scanner.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := scanner.Scan(context.Background(), []scanner.Source{brokenTarget{}, src}, []scanner.Detector{detector()}, scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0].Target != "broken" {
		t.Errorf("failed = %v, want the broken target", res.Failed)
	}
	if len(res.Findings) != 1 {
		t.Errorf("findings = %v, want a.txt's still reported", res.Findings)
	}
}
