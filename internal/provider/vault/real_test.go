package vault

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider/vault/fake"
)

// TestRealVault runs the provider against a real Vault (or OpenBao, the
// API-compatible fork) dev server: KV v2 and v1, a list, and logins with
// a token, AppRole and a job token through the JWT method. Neither can be
// installed on the machines this project's CI runs on (no Debian package;
// their Go modules do not build with go install), so it skips there,
// saying so.
func TestRealVault(t *testing.T) {
	bin := ""
	for _, name := range []string{"vault", "bao"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("neither vault nor bao is on PATH (no Debian package, and their modules refuse go install): the in-process server stands in")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	root := fixture.Password(60, 24)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "server", "-dev", "-dev-root-token-id="+root, "-dev-listen-address="+addr)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	url := "http://" + addr
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/v1/sys/health")
		if err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("the dev server did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Set it up as an operator would, with the root token.
	cfg := api.DefaultConfig()
	cfg.Address = url
	admin, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	admin.SetToken(root)
	issuer := fake.New() // its key signs job tokens as a CI system would
	defer issuer.Close()
	pub, err := x509.MarshalPKIXPublicKey(&issuer.JWTKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pw1, pw2 := fixture.Password(61, 20), fixture.Password(62, 20)
	write := func(path string, data map[string]any) {
		t.Helper()
		if _, err := admin.Logical().Write(path, data); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	write("sys/mounts/kv", map[string]any{"type": "kv"})
	write("secret/data/app/db", map[string]any{"data": map[string]any{"password": "old-" + pw1}})
	write("secret/data/app/db", map[string]any{"data": map[string]any{"password": pw1}})
	write("secret/data/app/api", map[string]any{"data": map[string]any{"key": pw2}})
	write("kv/legacy", map[string]any{"token": "v1-" + pw2})
	write("sys/policies/acl/app", map[string]any{"policy": `
path "secret/data/app/*" { capabilities = ["read"] }
path "secret/metadata/app/*" { capabilities = ["read", "list"] }
path "kv/*" { capabilities = ["read", "list"] }
`})
	write("sys/auth/approle", map[string]any{"type": "approle"})
	write("auth/approle/role/ci", map[string]any{"token_policies": []string{"app"}, "token_ttl": "5m"})
	write("sys/auth/jwt", map[string]any{"type": "jwt"})
	write("auth/jwt/config", map[string]any{"jwt_validation_pubkeys": []string{string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}})
	write("auth/jwt/role/ci", map[string]any{
		"role_type": "jwt", "bound_audiences": []string{"https://vault.example"}, "user_claim": "sub",
		"bound_subject": "repo:acme/app:ref:refs/heads/main", "token_policies": []string{"app"}, "token_ttl": "5m",
	})
	roleID, err := admin.Logical().Read("auth/approle/role/ci/role-id")
	if err != nil {
		t.Fatal(err)
	}
	secretID, err := admin.Logical().Write("auth/approle/role/ci/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	appToken, err := admin.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		env  map[string]string
		auth Auth
		job  bool
	}{
		{name: "token", env: map[string]string{"VAULT_TOKEN": appToken.Auth.ClientToken}},
		{name: "approle", env: map[string]string{"VAULT_ROLE_ID": fmt.Sprint(roleID.Data["role_id"]), "VAULT_SECRET_ID": fmt.Sprint(secretID.Data["secret_id"])}},
		{name: "jwt", auth: Auth{Role: "ci", Audience: "https://vault.example"}, job: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"VAULT_ADDR": url}
			for k, v := range c.env {
				env[k] = v
			}
			p := &Provider{Getenv: func(k string) string { return env[k] }, Auth: c.auth, CallTimeout: 10 * time.Second}
			if c.job {
				p.JobToken = &jobToken{srv: issuer, sub: "repo:acme/app:ref:refs/heads/main"}
			}
			got, err := resolve(t, p,
				"DB=ref+vault://secret/app/db#/password",
				"DB_OLD=ref+vault://secret/app/db?version=1#/password",
				"LEGACY=ref+vault://kv/legacy#/token",
				"APP=ref+vault://secret/app/*",
			)
			if err != nil {
				t.Fatal(err)
			}
			m := byName(got)
			for name, want := range map[string]string{
				"DB": pw1, "DB_OLD": "old-" + pw1, "LEGACY": "v1-" + pw2,
				"APP_DB": `{"password":"` + pw1 + `"}`, "APP_API": `{"key":"` + pw2 + `"}`,
			} {
				if m[name].Value != want {
					t.Errorf("%s = %q, want %q", name, m[name].Value, want)
				}
			}
			if m["DB"].Meta["version_id"] != "2" || time.Since(m["DB"].Created) > time.Minute {
				t.Errorf("DB: version %q created %v, want 2, now", m["DB"].Meta["version_id"], m["DB"].Created)
			}
		})
	}
	// A path the policy does not grant: 403, named.
	p := &Provider{Getenv: func(k string) string {
		return map[string]string{"VAULT_ADDR": url, "VAULT_TOKEN": appToken.Auth.ClientToken}[k]
	}, CallTimeout: 10 * time.Second}
	write("secret/data/other", map[string]any{"data": map[string]any{"password": pw2}})
	if _, err := resolve(t, p, "ref+vault://secret/other#/password"); err == nil || !strings.Contains(err.Error(), "permission denied (403)") {
		t.Errorf("an ungranted path: err = %v, want permission denied", err)
	}
}
