package main

import (
	"debug/elf"
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider/awssm/fake"
	vaultfake "github.com/secretgate/secretgate/internal/provider/vault/fake"
)

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

// TestGitHubActionsWithAct runs a workflow with act (GitHub Actions
// semantics on this host): one step fetches a secret from Secrets Manager
// into step outputs, the next prints it plainly, in base64 and URL-encoded,
// and the log must show *** and never the value.
func TestGitHubActionsWithAct(t *testing.T) {
	if testing.Short() {
		t.Skip("runs act: not in -short mode")
	}
	act := fixture.Tool(t, "act", "go install github.com/nektos/act@v0.2.89")
	fixture.Tool(t, "git", "apt-get install git")
	bin := buildSecretgate(t)
	value := fixture.Password(321, 24) + "/+="
	srv := fake.New("eu-west-1", fake.Secret{Name: "prod/db", String: `{"password":"` + value + `"}`})
	defer srv.Close()
	// Vault, logged in to with the job's OIDC token: the runner's token
	// service is stood in for by one that signs with a key Vault trusts.
	vaultValue := fixture.Password(322, 24)
	vs := vaultfake.New()
	defer vs.Close()
	vs.PutV2("secret/", "app/db", vaultfake.Version{Data: map[string]any{"password": vaultValue}})
	vs.Role("jwt", "deploy", vaultfake.Role{Policy: []string{"secret/data/app/*"}, Audience: "https://vault.example", Subject: "repo:acme/app:ref:refs/heads/main"})
	requestToken := fixture.Password(323, 32)
	runner := vs.Runner(requestToken, "repo:acme/app:ref:refs/heads/main")
	defer runner.Close()

	repo := t.TempDir()
	token := fixture.GitHubPAT(333)
	// The steps call the binary the way action.yml calls the image: its
	// inputs become the SECRETGATE_* variables of runs.env, the command
	// comes from runs.args.
	step := func(id string, inputs map[string]string) string {
		env, cmd := actionEnv(t, inputs)
		var b strings.Builder
		fmt.Fprintf(&b, "      - id: %s\n        continue-on-error: true\n        env:\n", id)
		for _, k := range slices.Sorted(maps.Keys(env)) {
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
` + step("secrets", map[string]string{"command": "fetch", "secrets": "DB_PASSWORD=ref+awssecrets://prod/db#/password"}) +
		step("vault", map[string]string{"command": "fetch", "secrets": "VAULT_DB=ref+vault://secret/app/db#/password", "vault-role": "deploy", "vault-audience": "https://vault.example"}) + `      - name: print it
        env:
          V: ${{ steps.secrets.outputs.DB_PASSWORD }}
          W: ${{ steps.vault.outputs.VAULT_DB }}
        run: |
          echo "vault: $W"
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
	write("e2e.env", strings.Join(append(fake.Env(srv), "PLANTED_TOKEN="+token, "VAULT_ADDR="+vs.URL,
		"ACTIONS_ID_TOKEN_REQUEST_URL="+runner.URL+"/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+requestToken), "\n")+"\n")
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
	for _, want := range []string{"vault: ***", "plain: ***", "b64: ***", "url: ***", "done printing",
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
		"Vault's value": vaultValue,
	} {
		if strings.Contains(log, form) {
			t.Errorf("act log holds %s", name)
		}
	}
	if t.Failed() {
		t.Logf("act log:\n%s", log)
	}
}

func gitRepo(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.email=e2e@example.com", "-c", "user.name=e2e", "commit", "-qm", "e2e", "--allow-empty"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestPreCommitHook runs the hook from this checkout with pre-commit
// try-repo, as a user would before adding it to .pre-commit-config.yaml: a
// staged file with a token fails, a clean one passes.
func TestPreCommitHook(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hook with pre-commit: not in -short mode")
	}
	preCommit := fixture.Tool(t, "pre-commit", "apt-get install pre-commit")
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	token := fixture.GitHubPAT(444)
	gitRepo(t, dir, map[string]string{"README.md": "scratch\n"})
	os.WriteFile(filepath.Join(dir, "leak.env"), []byte("GITHUB_TOKEN="+token+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "clean.txt"), []byte("nothing here\n"), 0o644)
	exec.Command("git", "-C", dir, "add", "leak.env", "clean.txt").Run()
	// pre-commit builds the hook in a GOPATH of its own; the module and
	// build caches are shared with this machine's so that it need not fetch
	// and compile everything again.
	goEnv := func(name string) string {
		out, _ := exec.Command("go", "env", name).Output()
		return strings.TrimSpace(string(out))
	}
	home := filepath.Join(t.TempDir(), "cache")
	run := func(file string) (string, error) {
		cmd := exec.Command(preCommit, "try-repo", self, "secretgate", "--files", file)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PRE_COMMIT_HOME="+home, "CGO_ENABLED=0",
			"GOMODCACHE="+goEnv("GOMODCACHE"), "GOCACHE="+goEnv("GOCACHE"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("leak.env")
	if err == nil || !strings.Contains(out, "github-pat") || !strings.Contains(out, "Failed") {
		t.Errorf("pre-commit on a staged token: %v\n%s\nwant the hook to fail naming github-pat", err, out)
	}
	if strings.Contains(out, token) {
		t.Error("pre-commit output holds the token")
	}
	if out, err := run("clean.txt"); err != nil || !strings.Contains(out, "Passed") {
		t.Errorf("pre-commit on a clean file: %v\n%s\nwant it to pass", err, out)
	}

	// The pre-push hook: a token committed and removed again before the
	// push still stops it; the commits before the push are not scanned.
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=e2e@example.com", "-c", "user.name=e2e"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("reset", "-q")
	base := git("rev-parse", "HEAD")
	git("add", "leak.env")
	git("commit", "-qm", "oops")
	git("rm", "-q", "leak.env")
	git("commit", "-qm", "remove it")
	push := func(from string) (string, error) {
		cmd := exec.Command(preCommit, "try-repo", self, "secretgate-pre-push", "--hook-stage", "push",
			"--from-ref", from, "--to-ref", "HEAD")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PRE_COMMIT_HOME="+home, "CGO_ENABLED=0",
			"GOMODCACHE="+goEnv("GOMODCACHE"), "GOCACHE="+goEnv("GOCACHE"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := push(base); err == nil || !strings.Contains(out, "github-pat") {
		t.Errorf("pre-push over a removed token: %v\n%s\nwant the hook to fail naming github-pat", err, out)
	}
	if out, err := push("HEAD~1"); err != nil || !strings.Contains(out, "Passed") {
		t.Errorf("pre-push of the clean commit only: %v\n%s\nwant it to pass", err, out)
	}
}

// TestStagedScan checks scan --staged: it reads what the index holds, not
// the working tree.
func TestStagedScan(t *testing.T) {
	fixture.Tool(t, "git", "apt-get install git")
	bin := buildSecretgate(t)
	dir := t.TempDir()
	token := fixture.GitHubPAT(555)
	gitRepo(t, dir, map[string]string{"README.md": "x\n"})
	p := filepath.Join(dir, "app.env")
	os.WriteFile(p, []byte("TOKEN="+token+"\n"), 0o644)
	exec.Command("git", "-C", dir, "add", "app.env").Run()
	os.WriteFile(p, []byte("TOKEN=removed-in-the-working-tree-only\n"), 0o644)
	cmd := exec.Command(bin, "scan", "--staged", "--format", "json")
	cmd.Dir = dir
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("scan --staged: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"path": "app.env"`) || !strings.Contains(string(out), "github-pat") {
		t.Errorf("scan --staged output lacks the staged token:\n%s", out)
	}
}

// TestGitLabTemplate runs a scratch project that includes the GitLab
// template with gitlab-ci-local (shell executor, the locally built binary
// standing in for the image): the scan job fails on a leak and leaves a
// secret detection report that validates; the deploy job runs helm through
// secretgate with a masked log.
func TestGitLabTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gitlab-ci-local: not in -short mode")
	}
	glci := fixture.Tool(t, "gitlab-ci-local", "npm install -g gitlab-ci-local@4.60.0")
	fixture.Tool(t, "rsync", "apt-get install rsync")
	fixture.Tool(t, "helm", "go install helm.sh/helm/v3/cmd/helm@v3.22.0")
	bin := buildSecretgate(t)
	value := fixture.Password(666, 24)
	srv := fake.New("eu-west-1",
		fake.Secret{Name: "prod/db", String: `{"password":"` + value + `"}`},
		fake.Secret{Name: "prod/token", String: "tok-" + value})
	defer srv.Close()
	// Vault trusts GitLab's id_tokens: signed with a key this test owns.
	vaultValue := fixture.Password(668, 24)
	vs := vaultfake.New()
	defer vs.Close()
	vs.PutV2("secret/", "app/db", vaultfake.Version{Data: map[string]any{"password": vaultValue}})
	vs.PutV2("secret/", "app/api", vaultfake.Version{Data: map[string]any{"token": "tok-" + vaultValue}})
	vs.Role("gitlab", "deploy", vaultfake.Role{Policy: []string{"secret/data/app/*"}, Audience: "https://vault.example"})
	idToken := vs.Sign(map[string]any{"aud": "https://vault.example", "sub": "project_path:acme/app:ref_type:branch:ref:main", "exp": time.Now().Add(time.Hour).Unix()})

	dir := t.TempDir()
	template, err := os.ReadFile("templates/secretgate.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"secretgate.gitlab-ci.yml": string(template),
		".gitlab-ci.yml": `include:
  - local: secretgate.gitlab-ci.yml
stages: [test, deploy]
secrets:
  extends: .secretgate-scan
deploy:
  extends: .secretgate-deploy
  variables:
    SECRETGATE_RELEASE: web
    SECRETGATE_CHART: chart
    SECRETGATE_HELM_COMMAND: template
    SECRETGATE_VALUES: "-f chart/values.yaml -f chart/secrets.prod.yaml"
deploy-vault:
  extends: .secretgate-deploy
  id_tokens:
    VAULT_ID_TOKEN:
      aud: https://vault.example
  variables:
    SECRETGATE_RELEASE: web
    SECRETGATE_CHART: chart
    SECRETGATE_HELM_COMMAND: template
    SECRETGATE_VALUES: "-f chart/values.yaml -f chart/secrets.vault.yaml"
    SECRETGATE_VAULT_ROLE: deploy
    SECRETGATE_VAULT_AUTH_MOUNT: gitlab
    SECRETGATE_ID_TOKEN_ENV: VAULT_ID_TOKEN
`,
		"chart/secrets.vault.yaml": "db:\n  password: ref+vault://secret/app/db#/password\napi:\n  token: ref+vault://secret/app/api#/token\n",
		"src/leak.env":             "GITHUB_TOKEN=" + fixture.GitHubPAT(667) + "\n",
	}
	for _, name := range []string{"Chart.yaml", "values.yaml", "secrets.prod.yaml", "templates/secret.yaml", "templates/deployment.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/charts/webapp", name))
		if err != nil {
			t.Fatal(err)
		}
		files["chart/"+name] = string(b)
	}
	gitRepo(t, dir, files)
	run := func(job string) (string, error) {
		args := []string{"--force-shell-executor", job}
		for _, v := range append(fake.Env(srv), "VAULT_ADDR="+vs.URL, "VAULT_ID_TOKEN="+idToken,
			"HELM_CACHE_HOME=/tmp/helm-e2e", "HELM_CONFIG_HOME=/tmp/helm-e2e", "HELM_DATA_HOME=/tmp/helm-e2e") {
			args = append(args, "--variable", v)
		}
		cmd := exec.Command(glci, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("secrets")
	if err == nil || !strings.Contains(out, "github-pat") {
		t.Errorf("scan job: %v, want it to fail on the leak\n%s", err, out)
	}
	reports, _ := filepath.Glob(filepath.Join(dir, ".gitlab-ci-local", "artifacts", "secrets", "*", "gl-secret-detection-report.json"))
	more, _ := filepath.Glob(filepath.Join(dir, ".gitlab-ci-local", "artifacts", "secrets", "gl-secret-detection-report.json"))
	reports = append(reports, more...)
	if len(reports) == 0 {
		t.Fatalf("no gl-secret-detection-report.json among the scan job's artifacts\n%s", out)
	}
	validateGitLabReport(t, reports[0])

	out, err = run("deploy")
	if err != nil {
		t.Fatalf("deploy job: %v\n%s", err, out)
	}
	if !strings.Contains(out, "db-password: ***") {
		t.Errorf("deploy job log lacks the masked Secret\n%s", out)
	}
	if strings.Contains(out, value) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(value))) {
		t.Errorf("deploy job log holds the secret\n%s", out)
	}

	// The same chart, its values from Vault, logged in to with the job's
	// id_tokens: token.
	out, err = run("deploy-vault")
	if err != nil {
		t.Fatalf("deploy-vault job: %v\n%s", err, out)
	}
	if !strings.Contains(out, "db-password: ***") {
		t.Errorf("deploy-vault job log lacks the masked Secret\n%s", out)
	}
	if strings.Contains(out, vaultValue) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(vaultValue))) {
		t.Errorf("deploy-vault job log holds the secret\n%s", out)
	}
}

func validateGitLabReport(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixture.ValidateJSON(t, "internal/report/testdata/schemas/gitlab-secret-detection-report-format.json", data); err != nil {
		t.Errorf("%s does not validate: %v", path, err)
	}
}

// TestContainerImage builds the real Dockerfile with podman and runs the
// image: `secretgate version`, and a scan of a mounted fixture directory.
// Nothing can be pulled here, so the base images passed as build arguments
// are assembled locally (busybox-static, this machine's Go toolchain and CA
// certificates), modules are vendored into the build context and helm comes
// prebuilt. Where podman cannot run, the test says so and skips.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image: not in -short mode")
	}
	podman := fixture.Tool(t, "podman", "apt-get install podman runc busybox-static")
	busybox := fixture.Tool(t, "busybox", "apt-get install busybox-static")
	helm := fixture.Tool(t, "helm", "go install helm.sh/helm/v3/cmd/helm@v3.22.0")
	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644)
	global := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"),
		"--runtime", "runc", "--cgroup-manager", "cgroupfs", "--storage-driver", "vfs"}
	pm := func(args ...string) (string, error) {
		cmd := exec.Command(podman, append(global, args...)...)
		cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	sh := func(script string) {
		t.Helper()
		cmd := exec.Command("sh", "-ec", script)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	goroot := strings.TrimSpace(func() string { out, _ := exec.Command("go", "env", "GOROOT").Output(); return string(out) }())
	sh(`mkdir -p base/bin base/etc/ssl/certs base/tmp
cp ` + busybox + ` base/bin/busybox
for a in sh ls cat cp mkdir chmod printf rm test env; do ln -sf busybox base/bin/$a; done
cp /etc/ssl/certs/ca-certificates.crt base/etc/ssl/certs/
tar -cf base.tar -C base .
mkdir -p gobase/usr/local && cp -a base/. gobase/ && cp -a ` + goroot + ` gobase/usr/local/go
tar -cf gobase.tar -C gobase .`)
	if out, err := pm("import", "--change", "ENV PATH=/usr/local/bin:/bin", filepath.Join(dir, "base.tar"), "localhost/sg-base:test"); err != nil {
		t.Skipf("podman cannot import images here: %v\n%s", err, out)
	}
	if out, err := pm("import", "--change", "ENV PATH=/usr/local/go/bin:/bin", "--change", "ENV HOME=/root",
		filepath.Join(dir, "gobase.tar"), "localhost/sg-go:test"); err != nil {
		t.Fatalf("podman import: %v\n%s", err, out)
	}
	// The build context: the tracked files, vendored modules, a prebuilt helm.
	self, _ := filepath.Abs(".")
	sh(`git -C ` + self + ` ls-files -z | (cd ` + self + ` && xargs -0 tar -cf -) | (mkdir -p ctx && tar -xf - -C ctx)
cd ctx && go mod vendor && mkdir -p .build && cp ` + helm + ` .build/helm`)
	out, err := pm("build", "--network", "none", "--build-arg", "GO_IMAGE=localhost/sg-go:test",
		"--build-arg", "BASE_IMAGE=localhost/sg-base:test", "--build-arg", "VERSION=v0.0.0-test",
		"-t", "localhost/secretgate:test", filepath.Join(dir, "ctx"))
	if err != nil {
		if strings.Contains(out, "cannot") && strings.Contains(out, "namespace") {
			t.Skipf("podman cannot run build containers here: %s", out)
		}
		t.Fatalf("podman build: %v\n%s", err, out)
	}
	if out, err := pm("run", "--rm", "--network", "none", "localhost/secretgate:test", "version"); err != nil || !strings.Contains(out, "secretgate v0.0.0-test") {
		t.Errorf("secretgate version in the image: %v\n%s", err, out)
	}
	token := fixture.GitHubPAT(777)
	os.MkdirAll(filepath.Join(dir, "fx"), 0o755)
	os.WriteFile(filepath.Join(dir, "fx", "app.env"), []byte("GITHUB_TOKEN="+token+"\n"), 0o644)
	out, err = pm("run", "--rm", "--network", "none", "-v", filepath.Join(dir, "fx")+":/src:ro", "-w", "/src",
		"localhost/secretgate:test", "scan", ".")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, "github-pat") {
		t.Errorf("scan in the image: %v, want exit 1 naming github-pat\n%s", err, out)
	}
	if strings.Contains(out, token) {
		t.Error("the image's scan output holds the token")
	}
	if out, err := pm("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", "localhost/secretgate:test",
		"-c", "command -v helm && command -v secretgate-post"); err != nil {
		t.Errorf("helm and the post step are not in the image: %v\n%s", err, out)
	}
	if out, err := pm("images", "--format", "{{.Size}}", "localhost/secretgate:test"); err == nil {
		t.Logf("image size (with the test's busybox base and a helm built with debug information): %s", strings.TrimSpace(out))
	}

	// The arm64 image, from the same Dockerfile: the builder stage runs on
	// this machine's platform and cross-compiles (no emulation), and the
	// final stage only copies, so its base needs no binary at all: the
	// certificates. (podman 4.3 looks a local base image up by this
	// machine's platform and labels what it builds with the target's; and
	// unlike buildx it does not set BUILDPLATFORM, which is passed here.)
	// helm comes prebuilt for arm64, as the release's build context would
	// hold it.
	helmArm := crossCompile(t, "helm.sh/helm/v3/cmd/helm@v3.22.0", "arm64")
	sh(`mkdir -p armbase/etc/ssl/certs && cp /etc/ssl/certs/ca-certificates.crt armbase/etc/ssl/certs/
tar -cf armbase.tar -C armbase .
cp ` + helmArm + ` ctx/.build/helm-arm64`)
	if out, err := pm("import", filepath.Join(dir, "armbase.tar"), "localhost/sg-base:certs"); err != nil {
		t.Fatalf("podman import: %v\n%s", err, out)
	}
	if out, err := pm("build", "--pull=never", "--network", "none", "--platform", "linux/arm64",
		"--build-arg", "BUILDPLATFORM=linux/"+runtime.GOARCH, "--build-arg", "GO_IMAGE=localhost/sg-go:test",
		"--build-arg", "BASE_IMAGE=localhost/sg-base:certs", "--build-arg", "VERSION=v0.0.0-test",
		"-t", "localhost/secretgate:arm64", filepath.Join(dir, "ctx")); err != nil {
		t.Fatalf("podman build --platform linux/arm64: %v\n%s", err, out)
	}
	if out, err := pm("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", "localhost/secretgate:arm64"); err != nil || strings.TrimSpace(out) != "linux/arm64" {
		t.Errorf("the arm64 image is %q (%v), want linux/arm64", strings.TrimSpace(out), err)
	}
	ctr, err := pm("create", "--platform", "linux/arm64", "localhost/secretgate:arm64")
	if err != nil {
		t.Fatalf("podman create: %v\n%s", err, ctr)
	}
	ctr = strings.TrimSpace(ctr)
	for _, bin := range []string{"secretgate", "helm"} {
		dst := filepath.Join(dir, "arm-"+bin)
		if out, err := pm("cp", ctr+":/usr/local/bin/"+bin, dst); err != nil {
			t.Fatalf("podman cp %s: %v\n%s", bin, err, out)
		}
		f, err := elf.Open(dst)
		if err != nil {
			t.Fatalf("%s from the arm64 image: %v", bin, err)
		}
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("%s in the arm64 image is built for %v, want %v", bin, f.Machine, elf.EM_AARCH64)
		}
		f.Close()
	}
	pm("rm", ctr)
}

// crossCompile builds pkg@version for linux/arch and returns the binary.
func crossCompile(t *testing.T, pkgAtVersion, arch string) string {
	t.Helper()
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", "-trimpath", "-ldflags", "-s -w", pkgAtVersion)
	// go install puts a cross-compiled binary under GOPATH/bin/GOOS_GOARCH
	// and refuses GOBIN for one: a GOPATH of its own, sharing the caches.
	cache, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOBIN=", "GOPATH="+gobin,
		"GOMODCACHE="+strings.TrimSpace(string(cache)), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cross-compiling %s for %s: %v\n%s", pkgAtVersion, arch, err, out)
	}
	return filepath.Join(gobin, "bin", "linux_"+arch, filepath.Base(strings.Split(pkgAtVersion, "@")[0]))
}
