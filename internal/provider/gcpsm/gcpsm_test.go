package gcpsm

import (
	"context"
	"strings"
	"testing"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"google.golang.org/api/option"
	"google.golang.org/grpc/codes"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/provider/gcpsm/fake"
	"github.com/secretgate/secretgate/internal/provider/providertest"
	"github.com/secretgate/secretgate/internal/secretref"
)

func newProvider(srv *fake.Server) *Provider {
	opts := srv.Options()
	return &Provider{
		CallTimeout: 5 * time.Second,
		RetryDelay:  time.Millisecond,
		Open: func(ctx context.Context, more ...option.ClientOption) (API, error) {
			return secretmanager.NewClient(ctx, append(more, opts...)...)
		},
	}
}

func resolve(t *testing.T, p provider.Provider, specs ...string) ([]provider.Secret, error) {
	t.Helper()
	return providertest.Resolve(t, "gcpsecrets", p, specs...)
}

func TestResolve(t *testing.T) {
	pw1, pw2 := fixture.Password(1, 20), fixture.Password(2, 20)
	srv := fake.New()
	defer srv.Close()
	old := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	srv.Put("acme-prod", "db-password", fake.Version{Data: []byte("old-" + pw1), Created: old})
	srv.Put("acme-prod", "db-password", fake.Version{Data: []byte(pw1)})
	srv.Put("acme-prod", "db-json", fake.Version{Data: []byte(`{"password":"` + pw2 + `"}`)})
	srv.Put("acme-prod", "cert", fake.Version{Data: []byte{0, 1, 0xff, 'k', 'e', 'y'}})
	srv.Put("acme-prod", "app_a", fake.Version{Data: []byte("a-" + pw1)})
	srv.Put("acme-prod", "app_b", fake.Version{Data: []byte("b-" + pw1)})
	srv.Put("acme-prod", "app_c", fake.Version{Data: []byte("c-" + pw1)})
	got, err := resolve(t, newProvider(srv),
		"DB=ref+gcpsecrets://acme-prod/db-password",
		"DB_OLD=ref+gcpsecrets://acme-prod/db-password?version=1",
		"PW=ref+gcpsecrets://acme-prod/db-json#/password",
		"CERT=ref+gcpsecrets://acme-prod/cert",
		"APP=ref+gcpsecrets://acme-prod/app_*",
	)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]provider.Secret{}
	for _, s := range got {
		m[s.Name] = s
	}
	for name, want := range map[string]string{
		"DB": pw1, "DB_OLD": "old-" + pw1, "PW": pw2, "CERT": "AAH/a2V5", "APP_A": "a-" + pw1, "APP_B": "b-" + pw1, "APP_C": "c-" + pw1,
	} {
		if m[name].Value != want {
			t.Errorf("%s = %q, want %q", name, m[name].Value, want)
		}
	}
	if len(m["CERT"].Also) != 1 || m["CERT"].Also[0] != "\x00\x01\xffkey" {
		t.Errorf("a binary payload's raw bytes are not masked too: %q", m["CERT"].Also)
	}
	if s := m["DB_OLD"]; !s.Created.Equal(old) || s.Meta["version_id"] != "1" || s.Meta["name"] != "acme-prod/db-password" {
		t.Errorf("DB_OLD: created %v meta %v; want %v, version 1", s.Created, s.Meta, old)
	}
	if s := m["DB"]; s.Meta["version_id"] != "2" {
		t.Errorf("latest resolved to version %q, want 2", s.Meta["version_id"])
	}
}

// TestAccessorOnly: an identity with the accessor role alone reads values;
// their creation times are then unknown, not an error.
func TestAccessorOnly(t *testing.T) {
	pw := fixture.Password(3, 20)
	srv := fake.New()
	defer srv.Close()
	srv.Put("acme-prod", "db", fake.Version{Data: []byte(pw)})
	srv.Deny("secretmanager.versions.get")
	got, err := resolve(t, newProvider(srv), "ref+gcpsecrets://acme-prod/db")
	if err != nil || got[0].Value != pw || !got[0].Created.IsZero() {
		t.Fatalf("got %v, %v; want the value with no creation time", got, err)
	}
}

func TestErrors(t *testing.T) {
	pw := fixture.Password(4, 20)
	srv := fake.New()
	defer srv.Close()
	srv.Put("acme-prod", "db", fake.Version{Data: []byte(pw)})
	srv.Put("acme-prod", "db", fake.Version{Data: []byte("x" + pw), Disabled: true})
	cases := []struct{ spec, want string }{
		{"ref+gcpsecrets://acme-prod/db", "FailedPrecondition: the version is disabled or destroyed"},
		{"ref+gcpsecrets://acme-prod/db?version=3", "NotFound: no such secret or version"},
		{"ref+gcpsecrets://acme-prod/missing", "NotFound"},
		{"ref+gcpsecrets://acme-prod/db?version=1#/x", "not JSON"},
		{"ref+gcpsecrets://acme-prod/db?version=x", "version must be a number"},
		{"ref+gcpsecrets://acme-prod/db?region=x", `unknown option "region"`},
		{"ref+gcpsecrets://Acme_Prod/db", "a project is its id or number"},
		{"ref+gcpsecrets://acme-prod", "want ref+gcpsecrets://PROJECT/SECRET"},
		{"ref+gcpsecrets://acme-prod/zz*", "no secret in project acme-prod starts with zz"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			_, err := resolve(t, newProvider(srv), c.spec)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("the error shows the value or is not one line: %q", err)
			}
		})
	}

	srv.Deny("secretmanager.versions.access")
	_, err := resolve(t, newProvider(srv), "ref+gcpsecrets://acme-prod/db?version=1")
	if err == nil || !strings.Contains(err.Error(), "PermissionDenied: the identity needs secretmanager.versions.access") {
		t.Fatalf("denied: err = %v", err)
	}
}

func TestRetriesChecksumAndAuth(t *testing.T) {
	pw := fixture.Password(5, 20)
	srv := fake.New()
	defer srv.Close()
	srv.Put("acme-prod", "db", fake.Version{Data: []byte(pw)})
	srv.Fail(codes.ResourceExhausted, codes.Unavailable, codes.ResourceExhausted)
	if got, err := resolve(t, newProvider(srv), "ref+gcpsecrets://acme-prod/db"); err != nil || got[0].Value != pw {
		t.Fatalf("after throttling: %v", err)
	}
	srv.Fail(codes.ResourceExhausted, codes.ResourceExhausted, codes.ResourceExhausted, codes.ResourceExhausted, codes.ResourceExhausted)
	if _, err := resolve(t, newProvider(srv), "ref+gcpsecrets://acme-prod/db"); err == nil || !strings.Contains(err.Error(), "ResourceExhausted: throttled") {
		t.Fatalf("throttled throughout: err = %v", err)
	}
	srv.Corrupt(true)
	if _, err := resolve(t, newProvider(srv), "ref+gcpsecrets://acme-prod/db"); err == nil || !strings.Contains(err.Error(), "checksum does not match") {
		t.Fatalf("a corrupted payload: err = %v", err)
	}
	srv.Corrupt(false)
	p := newProvider(srv) // with the token the service gave
	srv.Revoke()
	if _, err := resolve(t, p, "ref+gcpsecrets://acme-prod/db"); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("a refused token: err = %v", err)
	}
}

func TestPrevious(t *testing.T) {
	cur, old := fixture.Password(12, 20), fixture.Password(13, 20)
	srv := fake.New()
	defer srv.Close()
	srv.Put("acme-prod", "rotated", fake.Version{Data: []byte(old)})
	srv.Put("acme-prod", "rotated", fake.Version{Data: []byte(cur)})
	srv.Put("acme-prod", "disabled", fake.Version{Data: []byte(old), Disabled: true})
	srv.Put("acme-prod", "disabled", fake.Version{Data: []byte(cur)})
	srv.Put("acme-prod", "fresh", fake.Version{Data: []byte(cur)})
	p := newProvider(srv)
	got, err := resolve(t, p, "A=ref+gcpsecrets://acme-prod/rotated", "B=ref+gcpsecrets://acme-prod/disabled", "C=ref+gcpsecrets://acme-prod/fresh")
	if err != nil {
		t.Fatal(err)
	}
	prev, _, err := provider.Registry{"gcpsecrets": p}.Previous(context.Background(), got)
	if err != nil {
		t.Fatal(err)
	}
	if len(prev) != 1 || prev[0].Name != "A@previous" || prev[0].Value != old || prev[0].Meta["version_id"] != "1" {
		t.Fatalf("previous = %+v; want A@previous alone", prev)
	}
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

// TestFederation exchanges the job's OIDC token at Google's STS, as
// google-github-actions/auth does, then impersonates a service account,
// and reads with the token that gives.
func TestFederation(t *testing.T) {
	pw := fixture.Password(14, 20)
	srv := fake.New()
	defer srv.Close()
	srv.Put("acme-prod", "db", fake.Version{Data: []byte(pw)})
	wip := "projects/123456789012/locations/global/workloadIdentityPools/ci/providers/github"
	srv.Audience = "//iam.googleapis.com/" + wip
	srv.SubjectToken = "job." + fixture.Password(15, 30)
	srv.ServiceAccount = "deploy@acme-prod.iam.gserviceaccount.com"
	for _, sa := range []string{"", srv.ServiceAccount} {
		job := &jobToken{token: srv.SubjectToken}
		endpoint := srv.Endpoint()
		p := &Provider{
			CallTimeout: 5 * time.Second,
			Federation:  Federation{Provider: wip, ServiceAccount: sa, JobToken: job, HTTP: srv.STSClient()},
			Open: func(ctx context.Context, opts ...option.ClientOption) (API, error) {
				return secretmanager.NewClient(ctx, append(opts, endpoint...)...)
			},
		}
		got, err := resolve(t, p, "ref+gcpsecrets://acme-prod/db")
		if err != nil || got[0].Value != pw {
			t.Fatalf("service account %q: %v", sa, err)
		}
		if len(job.asked) != 1 || job.asked[0] != "https://iam.googleapis.com/"+wip {
			t.Errorf("job token asked for %q", job.asked)
		}
	}

	job := &jobToken{token: "job." + fixture.Password(16, 30)}
	endpoint := srv.Endpoint()
	p := &Provider{
		CallTimeout: 5 * time.Second,
		Federation:  Federation{Provider: wip, JobToken: job, HTTP: srv.STSClient()},
		Open: func(ctx context.Context, opts ...option.ClientOption) (API, error) {
			return secretmanager.NewClient(ctx, append(opts, endpoint...)...)
		},
	}
	_, err := resolve(t, p, "ref+gcpsecrets://acme-prod/db")
	if err == nil || !strings.Contains(err.Error(), "Unauthenticated") || !strings.Contains(err.Error(), "invalid_grant") || strings.Contains(err.Error(), job.token) {
		t.Fatalf("a token STS refuses: err = %v", err)
	}
	p.Federation.Provider = "pools/ci"
	if _, err := resolve(t, p, "ref+gcpsecrets://acme-prod/db"); err == nil || !strings.Contains(err.Error(), "want projects/NUMBER/locations/global/workloadIdentityPools") {
		t.Fatalf("a malformed provider: err = %v", err)
	}
}

func TestResponseSizeBound(t *testing.T) {
	srv := fake.New()
	defer srv.Close()
	srv.Put("acme-prod", "huge", fake.Version{Data: []byte(strings.Repeat("v", provider.MaxResponse))})
	_, err := resolve(t, newProvider(srv), "ref+gcpsecrets://acme-prod/huge")
	if err == nil || !strings.Contains(err.Error(), "ResourceExhausted") || !strings.Contains(err.Error(), "larger than max") {
		t.Fatalf("err = %v, want the size bound", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := fake.New()
	defer srv.Close()
	srv.Put("acme-prod", "slow", fake.Version{Data: []byte(fixture.Password(21, 20))})
	srv.Slow(3 * time.Second)
	p := newProvider(srv)
	p.CallTimeout = 200 * time.Millisecond
	_, err := resolve(t, p, "ref+gcpsecrets://acme-prod/slow")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// FuzzParse: whatever a reference holds, parsing does not panic, and what
// it accepts names one resource: no separator or escape in the project,
// the secret or the version.
func FuzzParse(f *testing.F) {
	seeds := []string{"acme-prod/db", "acme-prod/db?version=3", "acme-prod/app_*", "123456789012/x", "a/b/c", "acme-prod/db?version=latest", "acme-prod/db#/x"}
	providertest.FuzzRefs(f, "gcpsecrets", seeds, func(t *testing.T, r secretref.Ref) {
		tg, err := parse(r)
		if err == nil && strings.ContainsAny(tg.project+tg.name+tg.version, "./:@?#%\\ ") {
			t.Fatalf("%q parsed to project %q, name %q, version %q", r.Raw, tg.project, tg.name, tg.version)
		}
	})
}

func TestSTSError(t *testing.T) {
	for in, want := range map[string]string{
		`status code 400: {"error":"invalid_grant","error_description":"The audience does not match."}`: "the token exchange answered 400: invalid_grant: The audience does not match.",
		`status code 502: <html>` + fixture.Password(18, 20) + `</html>`:                                "the token exchange answered 502",
	} {
		if got := stsError(in); got != want {
			t.Errorf("stsError(%q) = %q, want %q", in, got, want)
		}
	}
}
