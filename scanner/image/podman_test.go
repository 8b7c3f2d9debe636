package image_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner/image"
)

// TestPodmanBuiltDeletions checks the deletion semantics on an image that a
// second, independent tool built: podman runs RUN steps that delete a file,
// replace one by a symbolic link, one by a directory, a parent directory by
// a file, and delete a file whose content lives on under a hard link. The
// image is read as podman saves it (docker-archive, oci-archive) and as
// skopeo copies it (an OCI layout). Where podman cannot build here, the
// test says so and skips; CI installs it.
func TestPodmanBuiltDeletions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image with podman: not in -short mode")
	}
	podman := fixture.Tool(t, "podman", "apt-get install podman runc")
	busybox := fixture.Tool(t, "busybox", "apt-get install busybox-static")
	skopeo := fixture.Tool(t, "skopeo", "apt-get install skopeo")
	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644)
	global := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--storage-driver", "vfs"}
	run := func(name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	pm := func(args ...string) (string, error) { return run(podman, append(global, args...)...) }
	if out, err := run("sh", "-ec", `mkdir -p base/bin && cp `+busybox+` base/bin/busybox
for a in sh echo mkdir rm ln cat; do ln -sf busybox base/bin/$a; done
tar -cf base.tar -C base .`); err != nil {
		t.Fatalf("making the base: %v\n%s", err, out)
	}
	if out, err := pm("import", "--change", "ENV PATH=/bin", filepath.Join(dir, "base.tar"), "localhost/sg-busybox:test"); err != nil {
		t.Skipf("podman cannot import images here: %v\n%s", err, out)
	}
	kv := func(k string) string { return "k=" + planted[k] }
	containerfile := `FROM localhost/sg-busybox:test
RUN mkdir -p /a /b /c/d /h /s && echo '` + kv("KEPT") + `' > /a/sym.txt && echo '` + kv("DELETED") + `' > /b/dir.txt && \
    echo '` + kv("OPAQUE") + `' > /c/d/y.txt && echo '` + kv("ENV") + `' > /h/orig && ln /h/orig /h/link && \
    echo '` + kv("LABEL") + `' > /s/stays.txt && echo '` + kv("ARG") + `' > /a/rm.txt
RUN rm /a/sym.txt && ln -s /etc/passwd /a/sym.txt && rm /b/dir.txt && mkdir /b/dir.txt && \
    rm -r /c/d && echo file > /c/d && rm /h/orig && rm /a/rm.txt
`
	os.WriteFile(filepath.Join(dir, "Containerfile"), []byte(containerfile), 0o644)
	if out, err := pm("build", "--network", "none", "-t", "localhost/sg-deleted:test", "-f", filepath.Join(dir, "Containerfile"), dir); err != nil {
		if strings.Contains(out, "cannot") && strings.Contains(out, "namespace") {
			t.Skipf("podman cannot run build containers here: %s", out)
		}
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	for _, args := range [][]string{
		{"save", "--format", "docker-archive", "-o", "img-docker.tar", "localhost/sg-deleted:test"},
		{"save", "--format", "oci-archive", "-o", "img-oci.tar", "localhost/sg-deleted:test"},
	} {
		if out, err := pm(args...); err != nil {
			t.Fatalf("podman %v: %v\n%s", args, err, out)
		}
	}
	if out, err := run(skopeo, "copy", "oci-archive:img-oci.tar", "oci:layout:deleted"); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	want := strings.Join([]string{
		"known:ARG !/a/rm.txt deleted",
		"known:DELETED !/b/dir.txt deleted",
		"known:ENV !/h/link",
		"known:KEPT !/a/sym.txt deleted",
		"known:LABEL !/s/stays.txt",
		"known:OPAQUE !/c/d/y.txt deleted",
	}, "\n")
	for _, target := range []string{
		"docker-archive:" + filepath.Join(dir, "img-docker.tar"),
		"oci-archive:" + filepath.Join(dir, "img-oci.tar"),
		"oci:" + filepath.Join(dir, "layout") + ":deleted",
	} {
		fs, inc, err := scan(t, target, image.Options{})
		if err != nil || len(inc) > 0 {
			t.Errorf("%s: %v, incomplete %v", target, err, inc)
			continue
		}
		var files []string
		for _, line := range strings.Split(summary(target, fs), "\n") {
			if strings.Contains(line, " !/") {
				files = append(files, line) // layer files; history repeats the RUN lines
			}
		}
		if got := strings.Join(files, "\n"); got != want {
			t.Errorf("%s findings:\n%s\nwant:\n%s", target, got, want)
		}
	}
}
