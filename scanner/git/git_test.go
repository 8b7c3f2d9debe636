package git_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/git"
	"github.com/secretgate/secretgate/scanner/known"
)

var planted = map[string]string{
	"REMOVED": fixture.Password(601, 24),
	"MERGED":  fixture.Password(602, 24),
	"READDED": fixture.Password(603, 24),
	"RENAMED": fixture.Password(604, 24),
	"TAGGED":  fixture.Password(605, 24),
	"BINARY":  fixture.Password(606, 24),
	"NEW":     fixture.Password(607, 24),
}

func detector() scanner.Detector {
	var secrets []known.Secret
	for name, v := range planted {
		secrets = append(secrets, known.Secret{Name: name, Value: v})
	}
	forms, _ := known.Forms(secrets, 6)
	return known.NewDetector(known.New(secrets, forms))
}

// repo is a repository built at test time.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	fixture.Tool(t, "git", "apt-get install git")
	r := &repo{t, t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.git("config", "user.name", "Dev")
	r.git("config", "user.email", "dev@example.com")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *repo) write(name, body string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *repo) commit(msg string) string {
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func scan(t *testing.T, dir string, opts git.Options) ([]scanner.Finding, []string, error) {
	t.Helper()
	src, err := scanner.Open("git:"+dir, scanner.OpenOptions{Git: opts})
	if err != nil {
		t.Fatal(err)
	}
	res, err := scanner.Scan(context.Background(), []scanner.Source{src}, []scanner.Detector{detector()}, scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) > 0 {
		return res.Findings, res.Incomplete, res.Failed[0]
	}
	return res.Findings, res.Incomplete, nil
}

// summary is "RULE PATH@SUBJECT" per finding, sorted; subjects name commits.
func summary(t *testing.T, r *repo, fs []scanner.Finding) string {
	var lines []string
	for _, f := range fs {
		subject := r.git("log", "-1", "--format=%s", f.Commit)
		lines = append(lines, f.Rule+" "+f.Path+"@"+subject)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func kv(name string) string { return "key=" + planted[name] + "\n" }

// history builds a repository with every case: a secret removed later, one
// added on a merged branch, one removed and added again, one renamed, one
// only a tag reaches, one in a binary blob.
func history(t *testing.T) (*repo, map[string]string) {
	r := newRepo(t)
	sha := map[string]string{}
	r.write("README", "hello\n")
	sha["init"] = r.commit("init")
	r.write("config/removed.env", kv("REMOVED"))
	r.write("a.env", kv("READDED"))
	r.write("old-name.env", kv("RENAMED"))
	sha["add"] = r.commit("add secrets")
	r.git("rm", "-q", "config/removed.env", "a.env")
	r.git("mv", "old-name.env", "new-name.env")
	sha["remove"] = r.commit("remove and rename")
	r.git("checkout", "-q", "-b", "feature")
	r.write("feature.env", kv("MERGED"))
	sha["feature"] = r.commit("feature")
	r.git("checkout", "-q", "main")
	r.write("main.txt", "main\n")
	r.commit("main work")
	r.git("merge", "-q", "--no-edit", "feature")
	r.write("a.env", kv("READDED"))
	r.write("bin/tool", "\x00\x01ELF"+strings.Repeat("\x00", 100)+planted["BINARY"]+"\x00\x00")
	sha["readd"] = r.commit("add again")
	r.git("checkout", "-q", "--orphan", "detached")
	r.git("rm", "-q", "-rf", ".")
	r.write("tagged.env", kv("TAGGED"))
	sha["tagged"] = r.commit("tagged only")
	r.git("tag", "v0")
	r.git("checkout", "-q", "main")
	r.git("branch", "-q", "-D", "detached")
	return r, sha
}

func TestHistory(t *testing.T) {
	r, _ := history(t)
	fs, inc, err := scan(t, r.dir, git.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatalf("scan: %v, incomplete %v", err, inc)
	}
	want := strings.Join([]string{
		"known:BINARY bin/tool@add again",
		"known:MERGED feature.env@feature",
		"known:READDED a.env@add secrets",
		"known:REMOVED config/removed.env@add secrets",
		"known:RENAMED old-name.env@add secrets",
		"known:TAGGED tagged.env@tagged only",
	}, "\n")
	if got := summary(t, r, fs); got != want {
		t.Errorf("findings:\n%s\nwant (each once, at its oldest commit):\n%s", got, want)
	}
	for _, f := range fs {
		if len(f.Commit) != 40 || f.Author != "Dev" || f.Email != "dev@example.com" || f.Date != "2026-01-02T03:04:05+00:00" {
			t.Errorf("%s: commit %q by %q <%q> on %q", f.Path, f.Commit, f.Author, f.Email, f.Date)
		}
		if f.Path == "bin/tool" && (f.Offset == 0 || f.Line != 0) {
			t.Errorf("the binary blob's finding has line %d, offset %d; want an offset", f.Line, f.Offset)
		}
	}
}

func TestRanges(t *testing.T) {
	r, sha := history(t)
	for _, tt := range []struct {
		name string
		opts git.Options
		want []string
	}{
		{"log-opts range", git.Options{LogOpts: []string{sha["remove"] + "..main"}}, []string{"BINARY", "MERGED", "READDED"}},
		{"since-commit", git.Options{SinceCommit: sha["remove"]}, []string{"BINARY", "MERGED", "READDED", "TAGGED"}},
		{"pre-push", git.Options{Getenv: env(map[string]string{"PRE_COMMIT_FROM_REF": sha["add"], "PRE_COMMIT_TO_REF": sha["remove"]})}, nil},
		{"GitLab merge request", git.Options{Getenv: env(map[string]string{"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": sha["init"]})},
			[]string{"BINARY", "MERGED", "READDED", "REMOVED", "RENAMED"}},
		{"GitLab push", git.Options{Getenv: env(map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BEFORE_SHA": sha["feature"]})}, []string{"BINARY", "READDED"}},
		{"GitHub pull request", git.Options{Getenv: githubEvent(t, map[string]any{"pull_request": map[string]any{
			"base": map[string]string{"sha": sha["init"]}, "head": map[string]string{"sha": sha["remove"]}}})},
			[]string{"READDED", "REMOVED", "RENAMED"}},
		{"GitHub push", git.Options{Getenv: githubEvent(t, map[string]any{"before": sha["feature"], "after": sha["readd"]})}, []string{"BINARY", "READDED"}},
		{"GitHub new branch", git.Options{Getenv: githubEvent(t, map[string]any{"before": strings.Repeat("0", 40), "after": sha["feature"]})},
			[]string{"MERGED", "READDED", "REMOVED", "RENAMED"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, _, err := scan(t, r.dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, strings.TrimPrefix(f.Rule, "known:"))
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("secrets found (-want +got):\n%s", diff)
			}
		})
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func githubEvent(t *testing.T, ev map[string]any) func(string) string {
	p := filepath.Join(t.TempDir(), "event.json")
	data, _ := json.Marshal(ev)
	os.WriteFile(p, data, 0o644)
	return env(map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": p, "GITHUB_EVENT_NAME": "push"})
}

// TestShallowClone: a range whose base a shallow clone lacks is an error
// naming the setting that fetches it; all of a shallow clone's history is
// scanned with an incomplete entry for what is not there.
func TestShallowClone(t *testing.T) {
	r, sha := history(t)
	clone := t.TempDir()
	cmd := exec.Command("git", "clone", "-q", "--depth", "1", "--no-local", "file://"+r.dir, clone)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	_, _, err := scan(t, clone, git.Options{Getenv: githubEvent(t, map[string]any{"pull_request": map[string]any{
		"base": map[string]string{"sha": sha["init"]}, "head": map[string]string{"sha": sha["readd"]}}})})
	if err == nil || !strings.Contains(err.Error(), "not in this clone (a shallow clone): set fetch-depth: 0") {
		t.Errorf("scan = %v, want the missing base named with fetch-depth", err)
	}
	_, _, err = scan(t, clone, git.Options{Getenv: env(map[string]string{"GITLAB_CI": "true", "CI_MERGE_REQUEST_DIFF_BASE_SHA": sha["init"]})})
	if err == nil || !strings.Contains(err.Error(), "GIT_DEPTH") {
		t.Errorf("scan = %v, want the missing base named with GIT_DEPTH", err)
	}
	_, inc, err := scan(t, clone, git.Options{})
	if err != nil || len(inc) != 1 || !strings.Contains(inc[0], "shallow clone") {
		t.Errorf("scan of all of a shallow clone: %v, incomplete %v; want one entry saying so", err, inc)
	}
}

// TestSubmoduleIsReported: a submodule is named, not followed.
func TestSubmoduleIsReported(t *testing.T) {
	sub := newRepo(t)
	sub.write("x", "x\n")
	sub.commit("sub")
	r := newRepo(t)
	r.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.dir, "vendor/sub")
	r.commit("add a submodule")
	src, _ := scanner.Open("git:"+r.dir, scanner.OpenOptions{})
	var notes []string
	_, err := scanner.Scan(context.Background(), []scanner.Source{src}, []scanner.Detector{detector()},
		scanner.Options{Warn: func(err error) { notes = append(notes, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(notes, "\n"); !strings.Contains(got, "vendor/sub") || !strings.Contains(got, "submodule") {
		t.Errorf("notes %q, want the submodule named", got)
	}
}

func TestNotARepository(t *testing.T) {
	fixture.Tool(t, "git", "apt-get install git")
	_, _, err := scan(t, t.TempDir(), git.Options{})
	if err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("scan = %v, want 'not a git repository'", err)
	}
}

// TestLargeBlobIsStreamed: a blob past the in-memory size is streamed from
// cat-file, and the walk goes on after it.
func TestLargeBlobIsStreamed(t *testing.T) {
	r := newRepo(t)
	r.write("big.log", strings.Repeat("filler line of a large log\n", 17<<20/27)+kv("NEW"))
	r.commit("big")
	r.write("after.env", kv("REMOVED"))
	r.commit("after")
	fs, inc, err := scan(t, r.dir, git.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatalf("scan: %v, incomplete %v", err, inc)
	}
	if got := summary(t, r, fs); got != "known:NEW big.log@big\nknown:REMOVED after.env@after" {
		t.Errorf("findings:\n%s", got)
	}
}

// TestBareRepository: git:PATH takes a bare repository too.
func TestBareRepository(t *testing.T) {
	r, _ := history(t)
	bare := filepath.Join(t.TempDir(), "bare.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", r.dir, bare).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	fs, inc, err := scan(t, bare, git.Options{})
	if err != nil || len(inc) > 0 {
		t.Fatalf("scan: %v, incomplete %v", err, inc)
	}
	if got, want := summary(t, &repo{t, bare}, fs), func() string { all, _, _ := scan(t, r.dir, git.Options{}); return summary(t, r, all) }(); got != want {
		t.Errorf("findings in the bare clone:\n%s\nwant the same as in the work tree:\n%s", got, want)
	}
}
