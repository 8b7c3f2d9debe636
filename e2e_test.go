package main

import (
	"encoding/base64"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider/awssm/fake"
)

// need returns the path of a tool the test needs: under CI=true the tools
// are installed, so a missing one fails the test instead of skipping it.
func need(t *testing.T, tool, install string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not on PATH, and CI installs it (%s)", tool, install)
		}
		t.Skipf("%s is not installed (%s)", tool, install)
	}
	return p
}

func buildSecretgate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "secretgate")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestGitHubActionsWithAct runs a workflow with act (GitHub Actions
// semantics on this host): one step fetches a secret from Secrets Manager
// into step outputs, the next prints it plainly, in base64 and URL-encoded,
// and the log must show *** and never the value.
func TestGitHubActionsWithAct(t *testing.T) {
	if testing.Short() {
		t.Skip("runs act: not in -short mode")
	}
	act := need(t, "act", "go install github.com/nektos/act@v0.2.89")
	need(t, "git", "apt-get install git")
	bin := buildSecretgate(t)
	value := fixture.Password(321, 24) + "/+="
	srv := fake.New("eu-west-1", fake.Secret{Name: "prod/db", String: `{"password":"` + value + `"}`})
	defer srv.Close()

	repo := t.TempDir()
	workflow := `on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - id: secrets
        run: ` + bin + ` fetch --secret 'DB_PASSWORD=ref+awssecrets://prod/db#/password'
      - name: print it
        env:
          V: ${{ steps.secrets.outputs.DB_PASSWORD }}
        run: |
          echo "plain: $V"
          echo "b64: $(printf %s "$V" | base64 -w0)"
          echo "url: $(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$V")"
          echo "done printing"
`
	write := func(name, body string) {
		p := filepath.Join(repo, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".github/workflows/deploy.yml", workflow)
	write("e2e.env", strings.Join([]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + srv.URL, "AWS_REGION=" + srv.Region,
		"AWS_ACCESS_KEY_ID=" + fixture.AWSAccessKeyID(300), "AWS_SECRET_ACCESS_KEY=" + fixture.Password(301, 40),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}, "\n")+"\n")
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.email=e2e@example.com", "-c", "user.name=e2e", "commit", "-qm", "e2e"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	cmd := exec.Command(act, "push", "-P", "ubuntu-latest=-self-hosted", "--pull=false", "--env-file", "e2e.env")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	log := string(out)
	if err != nil {
		t.Fatalf("act: %v\n%s", err, log)
	}
	for _, want := range []string{"plain: ***", "b64: ***", "url: ***", "done printing"} {
		if !strings.Contains(log, want) {
			t.Errorf("act log lacks %q", want)
		}
	}
	for name, form := range map[string]string{
		"the value":     value,
		"its base64":    base64.StdEncoding.EncodeToString([]byte(value)),
		"its URL form":  url.QueryEscape(value),
		"its path form": url.PathEscape(value),
	} {
		if strings.Contains(log, form) {
			t.Errorf("act log holds %s", name)
		}
	}
	if t.Failed() {
		t.Logf("act log:\n%s", log)
	}
}
