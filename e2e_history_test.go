package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
)

// historyRepo makes a repository whose history holds an old token (added,
// then removed) before the commits a pipeline adds, which add a new one.
// It returns the commit before the pipeline's and the last.
func historyRepo(t *testing.T, dir string, ci map[string]string) (before, after string) {
	t.Helper()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.email=e2e@example.com", "-c", "user.name=e2e"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	for name, body := range ci {
		write(name, body)
	}
	write("old.env", "GITHUB_TOKEN="+fixture.GitHubPAT(701)+"\n")
	git("add", "-A")
	git("commit", "-qm", "old token")
	git("rm", "-q", "old.env")
	git("commit", "-qm", "remove it")
	before = git("rev-parse", "HEAD")
	write("new.env", "GITHUB_TOKEN="+fixture.GitHubPAT(702)+"\n")
	git("add", "-A")
	git("commit", "-qm", "new token")
	return before, git("rev-parse", "HEAD")
}

// TestHistoryInCI: inside CI with no range given, git:. scans exactly the
// commits the push (act, GitHub's event file) or the merge request
// (gitlab-ci-local, CI_MERGE_REQUEST_DIFF_BASE_SHA) adds: the new token is
// found, the old one, removed before, is not.
func TestHistoryInCI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs act and gitlab-ci-local: not in -short mode")
	}
	fixture.Tool(t, "git", "apt-get install git")
	bin := buildSecretgate(t)

	t.Run("GitHub push with act", func(t *testing.T) {
		act := fixture.Tool(t, "act", "go install github.com/nektos/act@v0.2.89")
		dir := t.TempDir()
		// act copies the workspace without .git, so the step names the
		// repository itself; the range still comes from act's event file.
		env, cmd := actionEnv(t, map[string]string{"command": "scan", "targets": "git:" + dir, "args": "--no-color"})
		var step strings.Builder
		for k, v := range env {
			step.WriteString("          " + k + ": " + strings.ReplaceAll(v, "\n", "\\n") + "\n")
		}
		workflow := "on: push\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - continue-on-error: true\n        env:\n" +
			step.String() + "        run: " + bin + " " + cmd + "\n"
		before, after := historyRepo(t, dir, map[string]string{".github/workflows/scan.yml": workflow})
		event, _ := json.Marshal(map[string]string{"before": before, "after": after, "ref": "refs/heads/main"})
		eventFile := filepath.Join(t.TempDir(), "event.json")
		os.WriteFile(eventFile, event, 0o644)
		c := exec.Command(act, "push", "-e", eventFile, "-P", "ubuntu-latest=-self-hosted", "--pull=false")
		c.Dir = dir
		c.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := c.CombinedOutput()
		log := string(out)
		if err != nil {
			t.Fatalf("act: %v\n%s", err, log)
		}
		if !strings.Contains(log, "new.env") || strings.Contains(log, "old.env") {
			t.Errorf("act log: want new.env found and old.env (removed before the push) not:\n%s", log)
		}
	})

	t.Run("GitLab merge request with gitlab-ci-local", func(t *testing.T) {
		glci := fixture.Tool(t, "gitlab-ci-local", "npm install -g gitlab-ci-local@4.60.0")
		fixture.Tool(t, "rsync", "apt-get install rsync")
		dir := t.TempDir()
		template, err := os.ReadFile("templates/secretgate.gitlab-ci.yml")
		if err != nil {
			t.Fatal(err)
		}
		before, _ := historyRepo(t, dir, map[string]string{
			"secretgate.gitlab-ci.yml": string(template),
			".gitlab-ci.yml":           "include:\n  - local: secretgate.gitlab-ci.yml\nsecrets:\n  extends: .secretgate-scan\n  variables:\n    SECRETGATE_SCAN_TARGETS: \"git:.\"\n",
		})
		c := exec.Command(glci, "--force-shell-executor", "--variable", "CI_MERGE_REQUEST_DIFF_BASE_SHA="+before, "secrets")
		c.Dir = dir
		c.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, _ := c.CombinedOutput()
		reports, _ := filepath.Glob(filepath.Join(dir, ".gitlab-ci-local", "artifacts", "secrets", "*", "gl-secret-detection-report.json"))
		more, _ := filepath.Glob(filepath.Join(dir, ".gitlab-ci-local", "artifacts", "secrets", "gl-secret-detection-report.json"))
		reports = append(reports, more...)
		if len(reports) == 0 {
			t.Fatalf("no report among the scan job's artifacts\n%s", out)
		}
		data, _ := os.ReadFile(reports[0])
		if !strings.Contains(string(data), `"file": "new.env"`) || strings.Contains(string(data), "old.env") {
			t.Errorf("report: want new.env and not old.env (removed before the merge request):\n%s\njob log:\n%s", data, out)
		}
		validateGitLabReport(t, reports[0])
	})
}
