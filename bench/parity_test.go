// Package bench holds the side-by-side checks against peer tools: the
// parity test here, and run.sh for timings (see docs/PERFORMANCE.md).
package bench

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestParityWithGitleaks builds the gitleaks CLI from the module in go.mod
// and secretgate from this checkout, scans $(go env GOROOT)/src (real code
// nobody here wrote, with real test keys in it) with both, and requires the
// same set of (rule, path, line) in the files gitleaks reads as text.
// secretgate also reads binaries and archives, which gitleaks dir skips;
// findings there (byte offsets, or paths with "!") are counted apart.
func TestParityWithGitleaks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and scans 88 MB: not in -short mode")
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	corpus := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("no Go source tree at %s: %v", corpus, err)
	}
	dir := t.TempDir()
	gitleaks := filepath.Join(dir, "gitleaks")
	secretgate := filepath.Join(dir, "secretgate")
	build(t, "-tags", "gore2regex", "-o", gitleaks, "github.com/zricethezav/gitleaks/v8")
	build(t, "-o", secretgate, "github.com/secretgate/secretgate")

	theirs := gitleaksFindings(t, gitleaks, "dir", corpus)
	want := map[string]bool{}
	for _, f := range theirs {
		rel, err := filepath.Rel(corpus, f.File)
		if err != nil {
			t.Fatal(err)
		}
		want[key(f.RuleID, filepath.ToSlash(rel), f.StartLine)] = true
	}

	cmd := exec.Command(secretgate, "scan", "--quiet", "--format", "json", corpus)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("secretgate scan: %v\n%s", err, out)
	}
	var ours struct {
		Findings []struct {
			Rule, Path string
			Line       int
			Offset     int64
		}
	}
	if err := json.Unmarshal(out, &ours); err != nil {
		t.Fatalf("secretgate output: %v", err)
	}
	got := map[string]bool{}
	beyond := 0 // in binaries and archives, which gitleaks dir does not read
	for _, f := range ours.Findings {
		if f.Line == 0 && f.Offset > 0 || strings.Contains(f.Path, "!") {
			beyond++
			continue
		}
		got[key(f.Rule, f.Path, f.Line)] = true
	}
	if len(want) == 0 {
		t.Fatal("gitleaks found nothing: the corpus is not what this test expects")
	}
	t.Logf("gitleaks: %d findings, secretgate: %d in text files and %d in binaries and archives", len(want), len(got), beyond)
	if missing, extra := diff(want, got), diff(got, want); len(missing)+len(extra) > 0 {
		t.Errorf("findings differ from gitleaks'\nonly gitleaks: %v\nonly secretgate: %v", missing, extra)
	}
}

// gitleaksFinding is what the parity tests read of a gitleaks finding.
type gitleaksFinding struct {
	RuleID    string
	File      string
	StartLine int
}

// gitleaksFindings runs `gitleaks MODE TARGET` and reads its JSON report.
func gitleaksFindings(t *testing.T, gitleaks, mode, target string) []gitleaksFinding {
	t.Helper()
	report := filepath.Join(t.TempDir(), "gitleaks.json")
	run(t, gitleaks, mode, target, "--no-banner", "--log-level", "error", "--exit-code", "0",
		"--report-format", "json", "--report-path", report)
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var out []gitleaksFinding
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("gitleaks report: %v", err)
	}
	return out
}

func key(rule, path string, line int) string {
	return rule + " " + path + ":" + strconv.Itoa(line)
}

func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func build(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// TestGitParityWithGitleaks builds a repository of a few hundred commits of
// real source (gitrepo.sh: files added, edited, deleted and re-added) and
// requires `secretgate scan git:` to find the same (rule, path) pairs as
// `gitleaks git` in what gitleaks reads as text. gitleaks reports a secret
// at every commit that adds its line, secretgate once at the oldest: the
// pairs, not the counts, are compared.
func TestGitParityWithGitleaks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and a repository of hundreds of commits: not in -short mode")
	}
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if out, err := exec.Command("bash", "gitrepo.sh", repo).CombinedOutput(); err != nil {
		t.Fatalf("gitrepo.sh: %v\n%s", err, out)
	}
	gitleaks := filepath.Join(dir, "gitleaks")
	secretgate := filepath.Join(dir, "secretgate")
	build(t, "-tags", "gore2regex", "-o", gitleaks, "github.com/zricethezav/gitleaks/v8")
	build(t, "-o", secretgate, "github.com/secretgate/secretgate")

	theirs := gitleaksFindings(t, gitleaks, "git", repo)
	want := map[string]bool{}
	for _, f := range theirs {
		want[f.RuleID+" "+f.File] = true
	}
	out, err := exec.Command(secretgate, "scan", "--quiet", "--format", "json", "git:"+repo).Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("secretgate scan: %v\n%s", err, out)
	}
	var ours struct {
		Findings []struct {
			Rule, Path, Commit string
			Offset             int64
		}
	}
	if err := json.Unmarshal(out, &ours); err != nil {
		t.Fatalf("secretgate output: %v", err)
	}
	got := map[string]bool{}
	beyond := 0
	for _, f := range ours.Findings {
		if f.Commit == "" {
			t.Errorf("%s: no commit", f.Path)
		}
		if f.Offset > 0 || strings.Contains(f.Path, "!") {
			beyond++
			continue
		}
		got[f.Rule+" "+f.Path] = true
	}
	if len(want) == 0 {
		t.Fatal("gitleaks found nothing: the repository is not what this test expects")
	}
	t.Logf("gitleaks: %d findings in %d (rule, path) pairs; secretgate: %d pairs, and %d in binaries and archives",
		len(theirs), len(want), len(got), beyond)
	if missing, extra := diff(want, got), diff(got, want); len(missing)+len(extra) > 0 {
		t.Errorf("(rule, path) pairs differ from gitleaks'\nonly gitleaks: %v\nonly secretgate: %v", missing, extra)
	}
}
