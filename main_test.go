package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider/awssm/fake"
	vaultfake "github.com/secretgate/secretgate/internal/provider/vault/fake"
)

// binDir holds a secretgate built without the race detector for the
// scripts: under -race, every start of the test binary would spend seconds
// in go-re2's instrumented initialisation, and the scripts start it often.
var binDir string

// scriptBinary builds the secretgate the scripts run, once.
func scriptBinary(t *testing.T) string {
	t.Helper()
	scriptBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "secretgate-bin-")
		if err != nil {
			scriptBinErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "secretgate"), ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			scriptBinErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		binDir = dir
	})
	if scriptBinErr != nil {
		t.Fatal(scriptBinErr)
	}
	return binDir
}

var (
	scriptBinOnce sync.Once
	scriptBinErr  error
)

// TestScript runs the end-to-end scripts in testdata/script. Token-shaped
// values come from internal/fixture as environment variables; `expand IN
// OUT` writes IN with $VARS replaced, to plant them in files.
func TestScript(t *testing.T) {
	bin := scriptBinary(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
			testdata, err := filepath.Abs("testdata")
			if err != nil {
				return err
			}
			env.Setenv("TESTDATA", testdata)
			vars := fixture.Env()
			for k, v := range vars {
				env.Setenv(k, v)
			}
			// A Secrets Manager endpoint for the real AWS SDK in secretgate.
			srv := fake.New("eu-west-1",
				fake.Secret{Name: "prod/db", String: `{"username":"app","password":"` + vars["DB_PASSWORD"] + `"}`},
				fake.Secret{Name: "prod/token", String: vars["GITHUB_PAT"]},
				fake.Secret{Name: "team/alpha", String: "alpha-" + vars["DB_PASSWORD"]},
				fake.Secret{Name: "team/beta", String: "beta-" + vars["DB_PASSWORD"]},
				fake.Secret{Name: "proxy/HTTPS_PROXY", String: "http://proxy.example:3128"},
			)
			env.Defer(srv.Close)
			for _, kv := range fake.Env(srv) {
				k, v, _ := strings.Cut(kv, "=")
				env.Setenv(k, v)
			}
			// A Vault server, and GitHub's token service signing job tokens
			// it trusts; VAULT_JOB_JWT is a GitLab job's id_tokens: token.
			vs := vaultfake.New()
			env.Defer(vs.Close)
			vs.PutV2("secret/", "app/db", vaultfake.Version{Data: map[string]any{"username": "app", "password": "old-" + fixture.Password(78, 24)}, Created: time.Now().Add(-200 * 24 * time.Hour)})
			vs.PutV2("secret/", "app/db", vaultfake.Version{Data: map[string]any{"username": "app", "password": vars["DB_PASSWORD"]}, Created: time.Now().Add(-100*24*time.Hour - time.Hour)})
			vs.PutV2("secret/", "app/token", vaultfake.Version{Data: map[string]any{"token": vars["GITHUB_PAT"]}})
			policy := []string{"secret/data/app/*", "secret/metadata/app/*"}
			vs.Role("jwt", "ci", vaultfake.Role{Policy: policy, Audience: "https://vault.example", Subject: "repo:acme/app:ref:refs/heads/main"})
			vs.Role("gitlab", "ci", vaultfake.Role{Policy: policy, Audience: "https://gitlab.example"})
			requestToken := fixture.Password(77, 32)
			runner := vs.Runner(requestToken, "repo:acme/app:ref:refs/heads/main")
			env.Defer(runner.Close)
			env.Setenv("VAULT_ADDR", vs.URL)
			env.Setenv("OLD_DB_PASSWORD", "old-"+fixture.Password(78, 24))
			env.Setenv("VAULT_FAKE_TOKEN", vs.Token(policy...))
			env.Setenv("FAKE_ID_TOKEN_REQUEST_URL", runner.URL+"/token?api-version=2.0")
			env.Setenv("FAKE_ID_TOKEN_REQUEST_TOKEN", requestToken)
			env.Setenv("VAULT_JOB_JWT", vs.Sign(map[string]any{"aud": "https://gitlab.example", "sub": "project_path:acme/app:ref_type:branch:ref:main", "exp": time.Now().Add(time.Hour).Unix()}))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			case "ci":
				return os.Getenv("CI") == "true", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: expand IN OUT")
				}
				in := ts.ReadFile(args[0])
				out := os.Expand(in, ts.Getenv)
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
			},
			// exits N CMD [ARG]...: run CMD, expect exit status N; its
			// output is kept for stdout and stderr checks.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits N CMD [ARG]...")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				got := 0
				if err := ts.Exec(args[1], args[2:]...); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) {
						ts.Fatalf("%s: %v", args[1], err)
					}
					got = ee.ExitCode()
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
			// nosecret FILE VAR...: FILE must not hold the value of any VAR.
			"nosecret": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: nosecret FILE VAR...")
				}
				data := ts.ReadFile(args[0])
				for _, name := range args[1:] {
					v := ts.Getenv(name)
					if v == "" {
						ts.Fatalf("%s is not set", name)
					}
					if strings.Contains(data, v) {
						ts.Fatalf("%s holds the value of %s", args[0], name)
					}
				}
			},
		},
	})
}
