package scanner_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/files"
	"github.com/secretgate/secretgate/scanner/known"
)

// secret is what the archive tests plant; known values find it without
// depending on gitleaks rules.
var secret = fixture.Password(77, 28)

func detector() scanner.Detector {
	s := []known.Secret{{Name: "PLANTED", Value: secret}}
	forms, _ := known.Forms(s, 6)
	return known.NewDetector(known.New(s, forms))
}

func scanDir(t *testing.T, dir string, limits scanner.Limits) (*scanner.Result, []string) {
	t.Helper()
	var warnings []string
	res, err := scanner.Scan(context.Background(), []scanner.Source{files.Path{Root: dir}}, []scanner.Detector{detector()},
		scanner.Options{Limits: limits, Warn: func(err error) { warnings = append(warnings, err.Error()) }})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return res, warnings
}

func paths(res *scanner.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Path)
	}
	return out
}

type entry struct {
	name string
	body []byte
}

func tarOf(t testing.TB, entries ...entry) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.body)
	}
	tw.Close()
	return b.Bytes()
}

func zipOf(t testing.TB, entries ...entry) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.body)
	}
	zw.Close()
	return b.Bytes()
}

func gzipOf(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func xzOf(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	w, err := xz.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func zstdOf(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	w, err := zstd.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func bzip2Of(t *testing.T, b []byte) []byte {
	cmd := exec.Command(fixture.Tool(t, "bzip2", "apt-get install bzip2"), "-c")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bzip2: %v", err)
	}
	return out
}

func write(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEveryArchiveKind(t *testing.T) {
	props := []byte("db.user=app\ndb.password=" + secret + "\n")
	dir := t.TempDir()
	write(t, dir, "a.zip", zipOf(t, entry{"conf/app.properties", props}))
	write(t, dir, "a.jar", zipOf(t, entry{"BOOT-INF/classes/application.properties", props}))
	write(t, dir, "a.apk", zipOf(t, entry{"classes.dex", append([]byte("dex\n035\x00\x00\x01"), props...)}))
	write(t, dir, "a.tar", tarOf(t, entry{"etc/app.env", props}))
	write(t, dir, "a.tgz", gzipOf(tarOf(t, entry{"values.yaml", props})))
	write(t, dir, "a.tar.xz", xzOf(t, tarOf(t, entry{"x.env", props})))
	write(t, dir, "a.tar.zst", zstdOf(t, tarOf(t, entry{"x.env", props})))
	write(t, dir, "a.tar.bz2", bzip2Of(t, tarOf(t, entry{"x.env", props})))
	write(t, dir, "log.gz", gzipOf(props))
	write(t, dir, "renamed.txt", zipOf(t, entry{"inside.txt", props})) // by content, not name
	res, warnings := scanDir(t, dir, scanner.Limits{})
	want := []string{
		"a.apk!classes.dex", "a.jar!BOOT-INF/classes/application.properties", "a.tar!etc/app.env",
		"a.tar.bz2!x.env", "a.tar.xz!x.env", "a.tar.zst!x.env", "a.tgz!values.yaml", "a.zip!conf/app.properties",
		"log.gz", "renamed.txt!inside.txt",
	}
	if got := paths(res); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("findings in %v\nwant %v", got, want)
	}
	if len(warnings) > 0 || len(res.Incomplete) > 0 {
		t.Errorf("warnings %v, incomplete %v; want none", warnings, res.Incomplete)
	}
	for _, f := range res.Findings {
		if f.Path == "a.tar!etc/app.env" && (f.Line != 2 || f.Column != 13) {
			t.Errorf("member finding at %d:%d, want line 2 column 13 of the member", f.Line, f.Column)
		}
	}
}

func TestNestedThreeDeepAndDepthLimit(t *testing.T) {
	inner := gzipOf(tarOf(t, entry{"conf/app.properties", []byte("password=" + secret + "\n")}))
	jar := zipOf(t, entry{"BOOT-INF/lib/x.tar.gz", inner})
	outer := tarOf(t, entry{"artifacts/app.jar", jar})
	dir := t.TempDir()
	write(t, dir, "release.tar", outer)
	res, _ := scanDir(t, dir, scanner.Limits{})
	if got, want := strings.Join(paths(res), " "), "release.tar!artifacts/app.jar!BOOT-INF/lib/x.tar.gz!conf/app.properties"; got != want {
		t.Errorf("findings = %q, want %q", got, want)
	}
	res, warnings := scanDir(t, dir, scanner.Limits{MaxDepth: 2})
	if len(res.Findings) != 0 || len(res.Incomplete) != 1 || !strings.Contains(res.Incomplete[0], "nested deeper than 2") {
		t.Errorf("depth 2: findings %v, incomplete %v, warnings %v; want the third archive reported, not opened",
			paths(res), res.Incomplete, warnings)
	}
}

func TestHostileArchives(t *testing.T) {
	good := []byte("ok=" + secret + "\n")
	dir := t.TempDir()
	// Names that climb out, absolute names, links: reported, never followed.
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range []*tar.Header{
		{Name: "../../etc/passwd", Typeflag: tar.TypeReg, Size: int64(len(good)), Mode: 0o644},
		{Name: "/abs/file", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"},
		{Name: "hard", Typeflag: tar.TypeLink, Linkname: "../outside"},
	} {
		tw.WriteHeader(h)
		if h.Typeflag == tar.TypeReg {
			tw.Write(good[:h.Size])
		}
	}
	tw.Close()
	write(t, dir, "traversal.tar", b.Bytes())
	// Corrupt and truncated archives.
	z := zipOf(t, entry{"a.txt", good})
	write(t, dir, "truncated.zip", z[:len(z)-10])
	broken := append([]byte(nil), z...)
	copy(broken[bytes.LastIndex(broken, []byte("PK\x05\x06"))+16:], []byte{0xff, 0xff, 0xff, 0x7f}) // central directory offset
	write(t, dir, "wrong-directory.zip", broken)
	tg := gzipOf(tarOf(t, entry{"a.txt", good}, entry{"b.txt", bytes.Repeat([]byte("x"), 4096)}))
	write(t, dir, "truncated.tgz", tg[:len(tg)-20])
	write(t, dir, "corrupt.gz", append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xff}, 100)...))
	write(t, dir, "clean.txt", good)

	res, warnings := scanDir(t, dir, scanner.Limits{})
	got := strings.Join(paths(res), " ")
	for _, want := range []string{"clean.txt", "traversal.tar!../../etc/passwd", "truncated.tgz!a.txt"} {
		if !strings.Contains(got, want) {
			t.Errorf("findings %q lack %q: the rest of the scan must go on", got, want)
		}
	}
	all := strings.Join(warnings, "\n")
	for _, want := range []string{
		`member "../../etc/passwd": name climbs out of the archive (..) (scanned, never extracted)`,
		`member "/abs/file": absolute name`,
		`member "link": symbolic link to "/etc/shadow" (not followed)`,
		`member "hard": hard link to "../outside" (not followed)`,
		`"truncated.zip": corrupt or truncated zip`,
		`"wrong-directory.zip`,
		`"truncated.tgz`,
		`"corrupt.gz": corrupt or truncated gzip`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	if len(res.Incomplete) < 4 {
		t.Errorf("incomplete = %v, want the corrupt archives listed", res.Incomplete)
	}
}

func TestEncryptedZipMember(t *testing.T) {
	z := zipOf(t, entry{"secret.txt", []byte("x")})
	// Set the encryption flag of the local and central headers.
	z[6] |= 1
	i := bytes.Index(z, []byte("PK\x01\x02"))
	z[i+8] |= 1
	dir := t.TempDir()
	write(t, dir, "enc.zip", z)
	res, warnings := scanDir(t, dir, scanner.Limits{})
	if len(res.Incomplete) != 1 || !strings.Contains(strings.Join(warnings, " "), "encrypted member") {
		t.Errorf("incomplete %v, warnings %v; want the encrypted member reported", res.Incomplete, warnings)
	}
}

// zeros yields n zero bytes without holding them.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.n))
	clear(p[:n])
	z.n -= int64(n)
	return n, nil
}

func TestBombs(t *testing.T) {
	dir := t.TempDir()
	// 10 GB of zeros as one gzip stream, made as a stream: 64 MiB compressed
	// once, its gzip member repeated (gzip readers read members in a row).
	var member bytes.Buffer
	w, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	io.Copy(w, &zeros{64 << 20})
	w.Close()
	f, err := os.Create(filepath.Join(dir, "zeros.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 << 30 / (64 << 20) {
		f.Write(member.Bytes())
	}
	f.Close()
	// 42.zip style: zips of zips, each holding the layer below many times.
	layer := zipOf(t, entry{"0.txt", bytes.Repeat([]byte{0}, 4<<20)})
	for range 3 {
		var es []entry
		for i := range 16 {
			es = append(es, entry{strings.Repeat("x", i+1) + ".zip", layer})
		}
		layer = zipOf(t, es...)
	}
	write(t, dir, "42.zip", layer)
	write(t, dir, "after.txt", []byte("k="+secret+"\n"))

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	res, warnings := scanDir(t, dir, scanner.Limits{MaxTotal: 256 << 20})
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if got := strings.Join(paths(res), " "); got != "after.txt" {
		t.Errorf("findings %q: want the file after the bombs still scanned", got)
	}
	all := strings.Join(warnings, "\n")
	if !strings.Contains(all, `"zeros.gz": expands more than 1000x (a decompression bomb)`) {
		t.Errorf("warnings lack the gzip bomb:\n%s", all)
	}
	if !strings.Contains(all, "42.zip") {
		t.Errorf("warnings lack the nested zip bomb:\n%s", all)
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 200<<20 {
		t.Errorf("heap grew by %d MiB scanning bombs", grew>>20)
	}
}

func TestBinaryStrings(t *testing.T) {
	dir := t.TempDir()
	utf16le := func(s string) []byte {
		var b []byte
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	blob := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00"), bytes.Repeat([]byte{0, 1, 2, 3}, 100)...)
	at8 := len(blob)
	blob = append(blob, []byte("token="+secret)...)
	blob = append(blob, 0, 0, 0)
	at16 := len(blob) + 1 // odd alignment
	blob = append(blob, 0)
	blob = append(blob, utf16le("pass="+secret)...)
	blob = append(blob, 0, 0)
	write(t, dir, "app.bin", blob)
	res, _ := scanDir(t, dir, scanner.Limits{})
	if len(res.Findings) != 2 {
		t.Fatalf("findings = %+v, want the UTF-8 and the UTF-16LE one", res.Findings)
	}
	offsets := map[int64]bool{}
	for _, f := range res.Findings {
		offsets[f.Offset] = true
		if f.Line != 0 {
			t.Errorf("binary finding has line %d, want a byte offset only", f.Line)
		}
	}
	if !offsets[int64(at8+len("token="))] || !offsets[int64(at16+2*len("pass="))] {
		t.Errorf("offsets = %v, want %d and %d", offsets, at8+6, at16+10)
	}
}

func TestGoBinaryLinkedSecret(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build a binary with: %v", err)
	}
	dir := t.TempDir()
	write(t, dir, "src/go.mod", []byte("module demo\n\ngo 1.21\n"))
	write(t, dir, "src/main.go", []byte("package main\n\nvar token string\n\nfunc main() { println(len(token)) }\n"))
	cmd := exec.Command(goTool, "build", "-o", filepath.Join(dir, "out", "demo"), "-ldflags", "-X main.token="+secret, ".")
	cmd.Dir = filepath.Join(dir, "src")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	res, _ := scanDir(t, filepath.Join(dir, "out"), scanner.Limits{})
	if len(res.Findings) == 0 || res.Findings[0].Path != "demo" || res.Findings[0].Offset == 0 {
		t.Fatalf("findings = %+v, want the -ldflags -X value found in the binary by offset", res.Findings)
	}
}

func TestZipSpilledPastMemoryBudget(t *testing.T) {
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	z := zipOf(t, entry{"big.txt", big}, entry{"s.txt", []byte("x=" + secret)})
	dir := t.TempDir()
	write(t, dir, "wrapped.tgz", gzipOf(tarOf(t, entry{"inner.zip", z})))
	res, _ := scanDir(t, dir, scanner.Limits{MemoryBudget: 1 << 20})
	if got := strings.Join(paths(res), " "); got != "wrapped.tgz!inner.zip!s.txt" {
		t.Errorf("findings = %q, want the member of a zip spilled to disk", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(os.TempDir(), "secretgate-zip-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// TestHelmChartPackage packages a chart with the real helm and finds the
// password its values.yaml carries inside the .tgz.
func TestHelmChartPackage(t *testing.T) {
	helm := fixture.Tool(t, "helm", "go install helm.sh/helm/v3/cmd/helm@v3.22.0")
	dir := t.TempDir()
	chart := filepath.Join(dir, "webapp")
	write(t, chart, "Chart.yaml", []byte("apiVersion: v2\nname: webapp\nversion: 1.2.3\n"))
	write(t, chart, "values.yaml", []byte("image: nginx\ndatabase:\n  password: "+secret+"\n"))
	write(t, chart, "templates/secret.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {{ .Values.database.password }}\n"))
	out := filepath.Join(dir, "dist")
	cmd := exec.Command(helm, "package", chart, "--destination", out)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("helm package: %v\n%s", err, b)
	}
	res, warnings := scanDir(t, out, scanner.Limits{})
	if got, want := strings.Join(paths(res), " "), "webapp-1.2.3.tgz!webapp/values.yaml"; got != want {
		t.Errorf("findings = %q, want %q (warnings %v)", got, want, warnings)
	}
}
