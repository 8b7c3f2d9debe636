package azurekv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/provider/azurekv/fake"
	"github.com/secretgate/secretgate/internal/provider/providertest"
	"github.com/secretgate/secretgate/internal/secretref"
)

const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// credential is an identity that already holds a token: what the bearer
// challenge asks of it is recorded.
type credential struct {
	srv   *fake.Server
	asked []policy.TokenRequestOptions
}

func (c *credential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.asked = append(c.asked, o)
	return azcore.AccessToken{Token: c.srv.Token(), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type jobToken struct {
	token string
	asked []string
}

func (j *jobToken) Available() bool { return true }

func (j *jobToken) Get(_ context.Context, audience string) (string, error) {
	j.asked = append(j.asked, audience)
	return j.token, nil
}

func newProvider(srv *fake.Server, env map[string]string) *Provider {
	return &Provider{
		Getenv:      func(k string) string { return env[k] },
		HTTP:        srv.Client(),
		CallTimeout: 5 * time.Second,
		RetryDelay:  time.Millisecond,
	}
}

func resolve(t *testing.T, p provider.Provider, specs ...string) ([]provider.Secret, error) {
	t.Helper()
	return providertest.Resolve(t, "azurekeyvault", p, specs...)
}

func TestResolve(t *testing.T) {
	pw1, pw2 := fixture.Password(1, 20), fixture.Password(2, 20)
	srv := fake.New(tenant)
	defer srv.Close()
	old := time.Now().Add(-40 * 24 * time.Hour).Truncate(time.Second)
	v1 := srv.Put("kv-prod", "db-password", fake.Version{Value: "old-" + pw1, Created: old})
	srv.Put("kv-prod", "db-password", fake.Version{Value: pw1})
	srv.Put("kv-prod", "db-json", fake.Version{Value: `{"user":"app","password":"` + pw2 + `"}`})
	srv.Put("kv-prod", "app-a", fake.Version{Value: "a-" + pw1})
	srv.Put("kv-prod", "app-b", fake.Version{Value: "b-" + pw1})
	srv.Put("kv-prod", "app-c", fake.Version{Value: "c-" + pw1})
	srv.Put("kv-prod", "app-off", fake.Version{Value: "off-" + pw1, Disabled: true})
	p := newProvider(srv, map[string]string{})
	cred := &credential{srv: srv}
	p.Credential = cred
	got, err := resolve(t, p,
		"DB=ref+azurekeyvault://kv-prod/db-password",
		"DB_OLD=ref+azurekeyvault://kv-prod/db-password/"+v1,
		"PW=ref+azurekeyvault://kv-prod/db-json#/password",
		"APP=ref+azurekeyvault://kv-prod/app-*",
	)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]provider.Secret{}
	for _, s := range got {
		m[s.Name] = s
	}
	for name, want := range map[string]string{
		"DB": pw1, "DB_OLD": "old-" + pw1, "PW": pw2, "APP_A": "a-" + pw1, "APP_B": "b-" + pw1, "APP_C": "c-" + pw1,
	} {
		if m[name].Value != want {
			t.Errorf("%s = %q, want %q", name, m[name].Value, want)
		}
	}
	if len(got) != 6 {
		t.Errorf("got %d secrets, want 6 (a disabled one is left out of a list)", len(got))
	}
	if s := m["DB_OLD"]; !s.Created.Equal(old) || s.Meta["version_id"] != v1 || s.Meta["name"] != "kv-prod/db-password" || s.Meta["provider"] != "azurekeyvault" {
		t.Errorf("DB_OLD: created %v meta %v; want %v, version %s", s.Created, s.Meta, old, v1)
	}
	// The challenge told the client which tenant and resource to ask for.
	if len(cred.asked) == 0 || cred.asked[0].TenantID != tenant || len(cred.asked[0].Scopes) != 1 || cred.asked[0].Scopes[0] != "https://vault.azure.net/.default" {
		t.Errorf("token asked with %+v; want tenant %s, scope https://vault.azure.net/.default", cred.asked, tenant)
	}
}

// TestFederation exchanges the job's OIDC token for an Entra ID token
// through azidentity, as azure/login's OIDC flow does, against the fake
// Entra ID endpoints; a wrong assertion is refused, named.
func TestFederation(t *testing.T) {
	pw := fixture.Password(3, 20)
	srv := fake.New(tenant)
	defer srv.Close()
	srv.ClientID = "8f2b6d8e-0000-4c5e-9a9a-1c2d3e4f5a6b"
	srv.Assertion = "job." + fixture.Password(4, 30)
	srv.Put("kv-prod", "db-password", fake.Version{Value: pw})
	env := map[string]string{"AZURE_TENANT_ID": tenant, "AZURE_CLIENT_ID": srv.ClientID}
	p := newProvider(srv, env)
	job := &jobToken{token: srv.Assertion}
	p.JobToken = job
	got, err := resolve(t, p, "ref+azurekeyvault://kv-prod/db-password")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Value != pw {
		t.Fatalf("value %q", got[0].Value)
	}
	if len(job.asked) == 0 || job.asked[0] != Audience {
		t.Errorf("job token asked for %q, want %q", job.asked, Audience)
	}
	if len(srv.Scopes) == 0 || !strings.Contains(srv.Scopes[0], "https://vault.azure.net/.default") {
		t.Errorf("Entra ID asked for scopes %q", srv.Scopes)
	}

	job.token = "job." + fixture.Password(5, 30)
	_, err = resolve(t, newProviderWith(srv, env, job), "ref+azurekeyvault://kv-prod/db-password")
	if err == nil || !strings.Contains(err.Error(), "AADSTS70021") {
		t.Fatalf("a wrong assertion: err = %v, want Entra's AADSTS70021", err)
	}
	if strings.Contains(err.Error(), job.token) || strings.Contains(err.Error(), pw) {
		t.Fatalf("the error shows a secret: %v", err)
	}
}

func newProviderWith(srv *fake.Server, env map[string]string, job *jobToken) *Provider {
	p := newProvider(srv, env)
	p.JobToken = job
	return p
}

func TestErrors(t *testing.T) {
	pw := fixture.Password(6, 20)
	srv := fake.New(tenant)
	defer srv.Close()
	srv.Put("kv-prod", "denied", fake.Version{Value: pw})
	srv.Deny("kv-prod", "denied")
	srv.Put("kv-prod", "off", fake.Version{Value: pw, Disabled: true})
	srv.Put("kv-prod", "plain", fake.Version{Value: pw})
	srv.Put("kv-prod", "slow", fake.Version{Value: pw})
	cases := []struct{ spec, want string }{
		{"ref+azurekeyvault://kv-prod/denied", "403 ForbiddenByRbac: the identity needs secrets/get on this vault (the Key Vault Secrets User role"},
		{"ref+azurekeyvault://kv-prod/off", "SecretDisabled: the secret or this version is disabled"},
		{"ref+azurekeyvault://kv-prod/missing", "404 SecretNotFound: no such secret or version"},
		{"ref+azurekeyvault://kv-prod/plain/0123456789abcdef0123456789abcdef", "404 SecretNotFound"},
		{"ref+azurekeyvault://kv-prod/plain#/x", "not JSON"},
		{"ref+azurekeyvault://kv-prod/plain/v1", "a version is 32 hexadecimal digits"},
		{"ref+azurekeyvault://evil.example.com%2F/x", "a Key Vault name is"},
		{"ref+azurekeyvault://kv-prod", "want ref+azurekeyvault://VAULT/SECRET"},
		{"ref+azurekeyvault://kv-prod/plain?version=2", "takes no ?options"},
		{"ref+azurekeyvault://kv-prod/zz-*", "no enabled secret in kv-prod starts with zz-"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			p := newProvider(srv, map[string]string{})
			p.Credential = &credential{srv: srv}
			_, err := resolve(t, p, c.spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("the error shows the value or is not one line: %q", err)
			}
		})
	}
	// Throttling and server errors are retried; four in a row are not enough to fail.
	srv.Fail("kv-prod", "plain", 429, 503, 429, 500)
	p := newProvider(srv, map[string]string{})
	p.Credential = &credential{srv: srv}
	if got, err := resolve(t, p, "ref+azurekeyvault://kv-prod/plain"); err != nil || got[0].Value != pw {
		t.Fatalf("after throttling: %v", err)
	}
	srv.Fail("kv-prod", "plain", 429, 429, 429, 429, 429, 429)
	if _, err := resolve(t, p, "ref+azurekeyvault://kv-prod/plain"); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("throttled throughout: err = %v, want the 429", err)
	}
}

func TestPrevious(t *testing.T) {
	cur, old := fixture.Password(10, 20), fixture.Password(11, 20)
	srv := fake.New(tenant)
	defer srv.Close()
	srv.Put("kv-prod", "rotated", fake.Version{Value: "older", Created: time.Now().Add(-48 * time.Hour)})
	oldID := srv.Put("kv-prod", "rotated", fake.Version{Value: old, Created: time.Now().Add(-24 * time.Hour)})
	srv.Put("kv-prod", "rotated", fake.Version{Value: cur})
	srv.Put("kv-prod", "disabled", fake.Version{Value: old, Created: time.Now().Add(-24 * time.Hour), Disabled: true})
	srv.Put("kv-prod", "disabled", fake.Version{Value: cur})
	srv.Put("kv-prod", "fresh", fake.Version{Value: cur})
	p := newProvider(srv, map[string]string{})
	p.Credential = &credential{srv: srv}
	got, err := resolve(t, p, "A=ref+azurekeyvault://kv-prod/rotated", "B=ref+azurekeyvault://kv-prod/disabled", "C=ref+azurekeyvault://kv-prod/fresh")
	if err != nil {
		t.Fatal(err)
	}
	prev, _, err := provider.Registry{"azurekeyvault": p}.Previous(context.Background(), got)
	if err != nil {
		t.Fatal(err)
	}
	if len(prev) != 1 || prev[0].Name != "A@previous" || prev[0].Value != old || prev[0].Meta["version_id"] != oldID {
		t.Fatalf("previous = %+v; want A@previous alone, version %s", prev, oldID)
	}
}

func TestResponseSizeBound(t *testing.T) {
	srv := fake.New(tenant)
	defer srv.Close()
	srv.Put("kv-prod", "huge", fake.Version{Value: strings.Repeat("v", provider.MaxResponse)})
	p := newProvider(srv, map[string]string{})
	p.Credential = &credential{srv: srv}
	_, err := resolve(t, p, "ref+azurekeyvault://kv-prod/huge")
	if err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
		t.Fatalf("err = %v, want the size bound", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := fake.New(tenant)
	defer srv.Close()
	srv.Put("kv-prod", "slow", fake.Version{Value: fixture.Password(20, 20)})
	srv.Delay = 3 * time.Second
	p := newProvider(srv, map[string]string{})
	p.Credential = &credential{srv: srv}
	p.CallTimeout = 100 * time.Millisecond
	_, err := resolve(t, p, "ref+azurekeyvault://kv-prod/slow")
	if err == nil || !strings.Contains(err.Error(), "timed out") && !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// FuzzParse: whatever a reference holds, parsing does not panic, and what
// it accepts cannot move the request to another host or path: the vault
// name becomes a host label, the secret name and version path segments.
func FuzzParse(f *testing.F) {
	seeds := []string{"kv-prod/db", "kv-prod/db/0123456789abcdef0123456789abcdef", "kv-prod/app-*", "evil.com%2F/x", "a/b/c/d", "kv/x?version=1", "kv-prod/db#/a/b"}
	providertest.FuzzRefs(f, "azurekeyvault", seeds, func(t *testing.T, r secretref.Ref) {
		tg, err := parse(r)
		if err == nil && strings.ContainsAny(tg.vault+tg.name+tg.version, "./:@?#%\\ ") {
			t.Fatalf("%q parsed to vault %q, name %q, version %q", r.Raw, tg.vault, tg.name, tg.version)
		}
	})
}
