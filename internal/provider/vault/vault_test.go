package vault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/provider/providertest"
	"github.com/secretgate/secretgate/internal/provider/vault/fake"
	"github.com/secretgate/secretgate/internal/secretref"
)

// jobToken is a CI job's identity for tests: a token the fake server
// signed, with the audience asked for.
type jobToken struct {
	srv   *fake.Server
	sub   string
	asked []string
}

func (j *jobToken) Available() bool { return true }

func (j *jobToken) Get(_ context.Context, audience string) (string, error) {
	j.asked = append(j.asked, audience)
	return j.srv.Sign(map[string]any{"aud": audience, "sub": j.sub, "exp": time.Now().Add(5 * time.Minute).Unix()}), nil
}

func newProvider(srv *fake.Server, env map[string]string) *Provider {
	env["VAULT_ADDR"] = srv.URL
	return &Provider{
		Getenv:      func(k string) string { return env[k] },
		ReadFile:    func(string) ([]byte, error) { return nil, fs.ErrNotExist },
		CallTimeout: 5 * time.Second,
	}
}

func resolve(t *testing.T, p provider.Provider, specs ...string) ([]provider.Secret, error) {
	t.Helper()
	return providertest.Resolve(t, "vault", p, specs...)
}

func byName(ss []provider.Secret) map[string]provider.Secret {
	m := map[string]provider.Secret{}
	for _, s := range ss {
		m[s.Name] = s
	}
	return m
}

func TestResolveKV(t *testing.T) {
	pw1, pw2 := fixture.Password(1, 20), fixture.Password(2, 20)
	srv := fake.New()
	defer srv.Close()
	old := time.Now().Add(-100 * 24 * time.Hour).Truncate(time.Second)
	srv.PutV2("secret/", "app/db", fake.Version{Data: map[string]any{"username": "app", "password": pw1}, Created: old})
	srv.PutV2("secret/", "app/db", fake.Version{Data: map[string]any{"username": "app", "password": pw2}})
	srv.PutV2("secret/", "app/api", fake.Version{Data: map[string]any{"key": "api-" + pw1}})
	srv.PutV2("secret/", "app/deep/x", fake.Version{Data: map[string]any{"key": "deep-" + pw1}})
	srv.PutV2("secret/", "other", fake.Version{Data: map[string]any{"key": "other-" + pw1}})
	srv.PutV1("kv/", "legacy", map[string]any{"token": "v1-" + pw2})
	token := srv.Token("secret/data/app/*", "secret/metadata/app/*", "kv/*")
	p := newProvider(srv, map[string]string{"VAULT_TOKEN": token})
	got, err := resolve(t, p,
		"DB_PASSWORD=ref+vault://secret/app/db#/password",
		"DB_OLD=ref+vault://secret/app/db?version=1#/password",
		"DB=ref+vault://secret/app/db",
		"LEGACY=ref+vault://kv/legacy#/token",
		"APP=ref+vault://secret/app/*",
	)
	if err != nil {
		t.Fatal(err, srv.Calls())
	}
	m := byName(got)
	want := map[string]string{
		"DB_PASSWORD": pw2, "DB_OLD": pw1, "LEGACY": "v1-" + pw2,
		"DB":     `{"password":"` + pw2 + `","username":"app"}`,
		"APP_DB": `{"password":"` + pw2 + `","username":"app"}`, "APP_API": `{"key":"api-` + pw1 + `"}`,
		"APP_DEEP_X": `{"key":"deep-` + pw1 + `"}`,
	}
	for name, v := range want {
		if m[name].Value != v {
			t.Errorf("%s = %q, want %q", name, m[name].Value, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d secrets, want %d", len(got), len(want))
	}
	if s := m["DB_OLD"]; !s.Created.Equal(old) || s.Meta["version_id"] != "1" || s.Meta["provider"] != "vault" || s.Meta["name"] != "secret/app/db" {
		t.Errorf("DB_OLD: created %v version %q meta %v; want %v, version 1", s.Created, s.Meta["version_id"], s.Meta, old)
	}
	if s := m["DB_PASSWORD"]; s.Meta["version_id"] != "2" || time.Since(s.Created) > time.Minute {
		t.Errorf("DB_PASSWORD: version %q created %v; want 2, now", s.Meta["version_id"], s.Created)
	}
	if !m["LEGACY"].Created.IsZero() {
		t.Error("KV v1 has no creation time, yet one was given")
	}
	// The engine of a mount is asked once.
	n := 0
	for _, c := range srv.Calls() {
		if strings.Contains(c, "sys/internal/ui/mounts/secret/") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("asked for secret/'s engine %d times, want 1: %v", n, srv.Calls())
	}
}

func TestLogins(t *testing.T) {
	pw := fixture.Password(3, 24)
	srv := fake.New()
	defer srv.Close()
	srv.PutV2("secret/", "ci/app", fake.Version{Data: map[string]any{"password": pw}})
	policy := []string{"secret/data/ci/*"}
	srv.Role("jwt", "ci", fake.Role{Policy: policy, Audience: "https://vault.example", Subject: "repo:acme/app:ref:refs/heads/main"})
	srv.Role("gitlab", "ci", fake.Role{Policy: policy, Audience: "https://vault.example"})
	saToken := fixture.Password(4, 40)
	srv.Role("kubernetes", "runner", fake.Role{Policy: policy, SAToken: saToken})
	roleID, secretID := srv.AppRole(policy...)

	cases := []struct {
		name string
		env  map[string]string
		auth Auth
		job  bool
		sa   bool
		want string // error
	}{
		{name: "jwt chosen from the role and the job token", auth: Auth{Role: "ci", Audience: "https://vault.example"}, job: true},
		{name: "jwt on another mount", auth: Auth{Method: "jwt", Mount: "gitlab", Role: "ci", Audience: "https://vault.example"}, job: true},
		{name: "jwt with the wrong audience", auth: Auth{Role: "ci", Audience: "sigstore"}, job: true, want: "invalid audience"},
		{name: "jwt with no role", auth: Auth{Method: "jwt"}, job: true, want: "--vault-role"},
		{name: "approle", env: map[string]string{"VAULT_ROLE_ID": roleID, "VAULT_SECRET_ID": secretID}},
		{name: "approle, wrong secret id", env: map[string]string{"VAULT_ROLE_ID": roleID, "VAULT_SECRET_ID": "x" + secretID}, want: "invalid role or secret ID"},
		{name: "kubernetes", auth: Auth{Role: "runner"}, sa: true},
		{name: "nothing to log in with", want: "no Vault credentials"},
		{name: "unknown method", auth: Auth{Method: "userpass"}, want: `unknown Vault auth method "userpass"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range c.env {
				env[k] = v
			}
			p := newProvider(srv, env)
			p.Auth = c.auth
			job := &jobToken{srv: srv, sub: "repo:acme/app:ref:refs/heads/main"}
			if c.job {
				p.JobToken = job
			}
			if c.sa {
				p.ReadFile = func(name string) ([]byte, error) {
					if name != ServiceAccountToken {
						return nil, fs.ErrNotExist
					}
					return []byte(saToken + "\n"), nil
				}
			}
			before := srv.Tokens()
			got, err := resolve(t, p, "P=ref+vault://secret/ci/app#/password")
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err = %v, want %q", err, c.want)
				}
				for _, v := range []string{pw, secretID, saToken} {
					if strings.Contains(err.Error(), v) {
						t.Fatalf("the error shows a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Value != pw {
				t.Fatalf("value %q, want the password", got[0].Value)
			}
			if srv.Tokens() != before {
				t.Errorf("%d tokens after, %d before: the login's token was not revoked", srv.Tokens(), before)
			}
			if c.job && (len(job.asked) != 1 || job.asked[0] != c.auth.Audience) {
				t.Errorf("job token asked for audiences %q, want [%q]", job.asked, c.auth.Audience)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	pw := fixture.Password(5, 20)
	srv := fake.New()
	defer srv.Close()
	srv.PutV2("secret/", "app/db", fake.Version{Data: map[string]any{"password": pw}})
	srv.PutV2("secret/", "app/db", fake.Version{Data: map[string]any{"password": "x" + pw}, Deleted: true})
	srv.PutV2("secret/", "team/x", fake.Version{Data: map[string]any{"password": pw}})
	srv.PutV1("kv/", "flat", map[string]any{"password": pw})
	token := srv.Token("secret/data/app/*", "kv/*")
	cases := []struct{ spec, want string }{
		{"ref+vault://secret/team/x#/password", "permission denied (403)"},
		{"ref+vault://secret/app/missing", "no secret at secret/data/app/missing"},
		{"ref+vault://secret/app/db?version=2", "version 2 of secret/app/db is deleted"},
		{"ref+vault://secret/app/db?version=1#/nope", `no key "nope"`},
		{"ref+vault://kv/flat?version=1", "needs KV version 2"},
		{"ref+vault://secret/app/db?version=x", "version must be a number"},
		{"ref+vault://secret/app/db?address=https://elsewhere", "address is not taken from a reference"},
		{"ref+vault://secret/app/db?colour=red", `unknown option "colour"`},
		{"ref+vault://secret/app/db?version=1&x=*", `unknown option "x"`},
		{"ref+vault://secret/app/*", "permission denied (403)"}, // no list on metadata/
		{"ref+vault://app*", "needs a folder"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			_, err := resolve(t, newProvider(srv, map[string]string{"VAULT_TOKEN": token}), c.spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), token) {
				t.Fatalf("the error shows a secret: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the error is not one line: %q", err)
			}
		})
	}
}

func TestRetriesAndTimeouts(t *testing.T) {
	pw := fixture.Password(6, 20)
	srv := fake.New()
	defer srv.Close()
	srv.PutV2("secret/", "app", fake.Version{Data: map[string]any{"password": pw}})
	token := srv.Token("secret/data/app")
	srv.Fail("secret/data/app", 503, 429, 500)
	got, err := resolve(t, newProvider(srv, map[string]string{"VAULT_TOKEN": token}), "ref+vault://secret/app#/password")
	if err != nil || got[0].Value != pw {
		t.Fatalf("after 3 failures: %v", err)
	}
	srv.Fail("secret/data/app", 503, 503, 503, 503)
	_, err = resolve(t, newProvider(srv, map[string]string{"VAULT_TOKEN": token}), "ref+vault://secret/app#/password")
	if err == nil || !strings.Contains(err.Error(), "answered 503") {
		t.Fatalf("after 4 failures: err = %v, want the 503", err)
	}
	srv.Delay = 2 * time.Second
	p := newProvider(srv, map[string]string{"VAULT_TOKEN": token})
	p.CallTimeout = 200 * time.Millisecond
	_, err = resolve(t, p, "ref+vault://secret/app#/password")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "timed out") && !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("a slow server: err = %v, want a timeout", err)
	}
}

func TestNamespace(t *testing.T) {
	pw := fixture.Password(7, 20)
	srv := fake.New()
	defer srv.Close()
	srv.Namespace = "team-a"
	srv.PutV2("secret/", "app", fake.Version{Data: map[string]any{"password": pw}})
	token := srv.Token("secret/data/app")
	if _, err := resolve(t, newProvider(srv, map[string]string{"VAULT_TOKEN": token}), "ref+vault://secret/app#/password"); err == nil {
		t.Fatal("no namespace: resolved anyway")
	}
	got, err := resolve(t, newProvider(srv, map[string]string{"VAULT_TOKEN": token, "VAULT_NAMESPACE": "team-a"}), "ref+vault://secret/app#/password")
	if err != nil || got[0].Value != pw {
		t.Fatalf("with VAULT_NAMESPACE: %v", err)
	}
}

func TestResponseSizeBound(t *testing.T) {
	srv := fake.New()
	defer srv.Close()
	srv.PutV2("secret/", "huge", fake.Version{Data: map[string]any{"v": strings.Repeat("v", provider.MaxResponse)}})
	token := srv.Token("secret/data/huge")
	_, err := resolve(t, newProvider(srv, map[string]string{"VAULT_TOKEN": token}), "ref+vault://secret/huge")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("larger than %d MiB", provider.MaxResponse>>20)) {
		t.Fatalf("err = %v, want the size bound", err)
	}
}

func TestPrevious(t *testing.T) {
	cur, old := fixture.Password(8, 20), fixture.Password(9, 20)
	srv := fake.New()
	defer srv.Close()
	srv.PutV2("secret/", "rotated", fake.Version{Data: map[string]any{"password": old}})
	srv.PutV2("secret/", "rotated", fake.Version{Data: map[string]any{"password": cur}})
	srv.PutV2("secret/", "deleted", fake.Version{Data: map[string]any{"password": old}, Deleted: true})
	srv.PutV2("secret/", "deleted", fake.Version{Data: map[string]any{"password": cur}})
	srv.PutV2("secret/", "fresh", fake.Version{Data: map[string]any{"password": cur}})
	srv.PutV1("kv/", "flat", map[string]any{"password": cur})
	p := newProvider(srv, map[string]string{"VAULT_TOKEN": srv.Token("secret/data/*", "kv/*")})
	got, err := resolve(t, p, "A=ref+vault://secret/rotated#/password", "B=ref+vault://secret/deleted#/password",
		"C=ref+vault://secret/fresh#/password", "D=ref+vault://kv/flat#/password")
	if err != nil {
		t.Fatal(err)
	}
	prev, _, err := provider.Registry{"vault": p}.Previous(context.Background(), got)
	if err != nil {
		t.Fatal(err)
	}
	if len(prev) != 1 || prev[0].Name != "A@previous" || prev[0].Value != old || prev[0].Meta["version_id"] != "1" {
		t.Fatalf("previous = %+v; want A@previous alone", prev)
	}
}

// FuzzParse: whatever a reference holds, parsing does not panic, and what
// it accepts stays a path below the API root: no "..", no query, no
// empty path; an address or token never comes from a reference.
func FuzzParse(f *testing.F) {
	seeds := []string{"secret/app/db", "secret/app/db?version=2", "secret/app/*", "kv/x#/a", "secret/../sys/x", "x?address=https://e", "/secret//app/"}
	providertest.FuzzRefs(f, "vault", seeds, func(t *testing.T, r secretref.Ref) {
		tg, err := parse(r)
		if err == nil && (strings.Contains(tg.path, "..") || strings.ContainsAny(tg.path, "?#") || strings.Trim(tg.path, "/") == "" ||
			r.Query.Has("address") || r.Query.Has("token")) {
			t.Fatalf("%q parsed to path %q", r.Raw, tg.path)
		}
	})
}

// TestNotVault: an answer that is not Vault's JSON (a proxy's page) is
// named by its status, and its body, which may hold anything, is not
// repeated.
func TestNotVault(t *testing.T) {
	page := "<html>" + fixture.Password(17, 24) + "</html>"
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, page)
	}))
	defer proxy.Close()
	p := &Provider{Getenv: func(k string) string {
		return map[string]string{"VAULT_ADDR": proxy.URL, "VAULT_TOKEN": "hvs.x"}[k]
	}, CallTimeout: 5 * time.Second}
	_, err := resolve(t, p, "ref+vault://secret/app#/password")
	if err == nil || !strings.Contains(err.Error(), "answered 403 with a body that is not Vault's") || strings.Contains(err.Error(), page[6:20]) {
		t.Fatalf("err = %v", err)
	}
}
