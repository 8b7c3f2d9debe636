package main

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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

// actionEnv returns the environment and command line action.yml gives the
// image for inputs (the others take their defaults).
func actionEnv(t *testing.T, inputs map[string]string) (map[string]string, string) {
	t.Helper()
	a := readAction(t)
	value := func(ref string) string {
		name := strings.TrimSuffix(strings.TrimPrefix(ref, "${{ inputs."), " }}")
		if v, ok := inputs[name]; ok {
			return v
		}
		return a.Inputs[name].Default
	}
	env := map[string]string{}
	for k, ref := range a.Runs.Env {
		if v := value(ref); v != "" {
			env[k] = v
		}
	}
	var args []string
	for _, ref := range a.Runs.Args {
		args = append(args, value(ref))
	}
	return env, strings.Join(args, " ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
	token := fixture.GitHubPAT(333)
	// The steps call the binary the way action.yml calls the image: its
	// inputs become the SECRETGATE_* variables of runs.env, the command
	// comes from runs.args.
	step := func(id string, inputs map[string]string) string {
		env, cmd := actionEnv(t, inputs)
		var b strings.Builder
		fmt.Fprintf(&b, "      - id: %s\n        continue-on-error: true\n        env:\n", id)
		for _, k := range sortedKeys(env) {
			fmt.Fprintf(&b, "          %s: %q\n", k, env[k])
		}
		fmt.Fprintf(&b, "        run: %s %s\n", bin, cmd)
		return b.String()
	}
	workflow := `on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
` + step("secrets", map[string]string{"command": "fetch", "secrets": "DB_PASSWORD=ref+awssecrets://prod/db#/password"}) + `      - name: print it
        env:
          V: ${{ steps.secrets.outputs.DB_PASSWORD }}
        run: |
          echo "plain: $V"
          echo "b64: $(printf %s "$V" | base64 -w0)"
          echo "url: $(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$V")"
          echo "done printing"
      - run: printf 'GITHUB_TOKEN=%s\n' "$PLANTED" > leak.env
        env:
          PLANTED: ${{ env.PLANTED_TOKEN }}
` + step("scan", map[string]string{"command": "scan", "targets": "leak.env", "args": "--no-color"}) + `      - if: steps.scan.outcome == 'failure'
        run: echo "scan failed the step as it should"
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
		"PLANTED_TOKEN=" + token,
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
	for _, want := range []string{"plain: ***", "b64: ***", "url: ***", "done printing",
		"Rule:        github-pat", "scan failed the step as it should"} {
		if !strings.Contains(log, want) {
			t.Errorf("act log lacks %q", want)
		}
	}
	for name, form := range map[string]string{
		"the value":     value,
		"its base64":    base64.StdEncoding.EncodeToString([]byte(value)),
		"its URL form":  url.QueryEscape(value),
		"its path form": url.PathEscape(value),
		"the token":     token,
	} {
		if strings.Contains(log, form) {
			t.Errorf("act log holds %s", name)
		}
	}
	if t.Failed() {
		t.Logf("act log:\n%s", log)
	}
}
