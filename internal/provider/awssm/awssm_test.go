package awssm

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/provider/awssm/fake"
	"github.com/secretgate/secretgate/internal/provider/providertest"
	"github.com/secretgate/secretgate/internal/secretref"
)

// env points the real SDK at srv, with throw-away credentials.
func env(t *testing.T, srv *fake.Server) {
	for _, kv := range fake.Env(srv) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func resolve(t *testing.T, p provider.Provider, specs ...string) ([]provider.Secret, error) {
	t.Helper()
	return providertest.Resolve(t, "awssecrets", p, specs...)
}

func byName(ss []provider.Secret) map[string]string {
	m := map[string]string{}
	for _, s := range ss {
		m[s.Name] = s.Value
	}
	return m
}

func TestResolve(t *testing.T) {
	db := fixture.Password(1, 20)
	srv := fake.New("eu-west-1",
		fake.Secret{Name: "prod/db", String: `{"username":"app","password":"` + db + `"}`},
		fake.Secret{Name: "prod/api", String: "api-" + db},
		fake.Secret{Name: "prod/cert", Binary: []byte{0, 1, 2, 0xff, 'x', 'y'}},
		fake.Secret{Name: "team/a", String: "value-a-123456"},
		fake.Secret{Name: "team/b", String: "value-b-123456"},
		fake.Secret{Name: "team/c/d", String: "value-cd-12345"},
	)
	defer srv.Close()
	env(t, srv)
	got, err := resolve(t, New(5*time.Second),
		"DB_PASSWORD=ref+awssecrets://prod/db#/password",
		"ref+awssecrets://prod/api",
		"CERT=ref+awssecrets://prod/cert",
		"ref+awssecrets://"+srv.ARN("prod/api")+"?version_stage=AWSCURRENT",
		"TEAM=ref+awssecrets://team/*",
	)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DB_PASSWORD": db, "API": "api-" + db, "CERT": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff, 'x', 'y'}),
		"API_ABCDEF": "api-" + db, "TEAM_A": "value-a-123456", "TEAM_B": "value-b-123456", "TEAM_C_D": "value-cd-12345",
	}
	if fmt.Sprint(byName(got)) != fmt.Sprint(want) {
		t.Errorf("resolved %v\nwant %v", byName(got), want)
	}
	for _, s := range got {
		if s.Name == "CERT" && (len(s.Also) != 1 || s.Also[0] != "\x00\x01\x02\xffxy") {
			t.Errorf("binary secret Also = %q, want its raw bytes to mask", s.Also)
		}
		if s.Meta["version_id"] == "" || s.Meta["provider"] != "awssecrets" {
			t.Errorf("%s meta = %v, want provider and version", s.Name, s.Meta)
		}
	}
	calls := strings.Join(srv.Calls(), " ")
	if strings.Count(calls, "ListSecrets") != 2 {
		t.Errorf("calls = %s, want ListSecrets paged twice (pages of 2)", calls)
	}
	if strings.Count(calls, "BatchGetSecretValue") != 1 {
		t.Errorf("calls = %s, want one BatchGetSecretValue for the plain ids", calls)
	}
}

func TestBatchesOfTwenty(t *testing.T) {
	srv := fake.New("us-east-1")
	var specs []string
	for i := range 45 {
		name := fmt.Sprintf("app/s%02d", i)
		srv.Put(fake.Secret{Name: name, String: fixture.Password(uint64(i), 12)})
		specs = append(specs, "ref+awssecrets://"+name)
	}
	defer srv.Close()
	env(t, srv)
	got, err := resolve(t, New(5*time.Second), specs...)
	if err != nil || len(got) != 45 {
		t.Fatalf("resolved %d, %v; want 45", len(got), err)
	}
	if n := strings.Count(strings.Join(srv.Calls(), " "), "BatchGetSecretValue"); n != 3 {
		t.Errorf("%d BatchGetSecretValue calls, want 3 for 45 ids", n)
	}
}

func TestFaults(t *testing.T) {
	secret := fixture.Password(5, 20)
	tests := []struct {
		name    string
		timeout time.Duration
		faults  map[string][]fake.Fault
		specs   []string
		want    string // error substring; "" for success
	}{
		{"throttled then fine", 0, map[string][]fake.Fault{"BatchGetSecretValue": {{Status: 400, Type: "ThrottlingException"}, {Status: 400, Type: "ThrottlingException"}}},
			[]string{"ref+awssecrets://ok"}, ""},
		{"500 then fine", 0, map[string][]fake.Fault{"BatchGetSecretValue": {{Status: 500, Type: "InternalServiceError"}}},
			[]string{"ref+awssecrets://ok"}, ""},
		{"batch denied: GetSecretValue instead", 0, map[string][]fake.Fault{"BatchGetSecretValue": {{Status: 400, Type: "AccessDeniedException"}}},
			[]string{"ref+awssecrets://ok"}, ""},
		{"denied", 0, map[string][]fake.Fault{"GetSecretValue": {{Status: 400, Type: "AccessDeniedException"}}},
			[]string{"ref+awssecrets://ok?version_stage=AWSCURRENT"}, "access denied to secretsmanager:GetSecretValue"},
		{"missing among many", 0, nil,
			[]string{"A=ref+awssecrets://ok", "B=ref+awssecrets://nope"}, `resolving "ref+awssecrets://nope": secret not found in region eu-central-1`},
		{"decryption", 0, map[string][]fake.Fault{"GetSecretValue": {{Status: 400, Type: "DecryptionFailure"}}},
			[]string{"ref+awssecrets://ok?version_id=v1-ok"}, "cannot decrypt"},
		{"slow past the timeout", time.Second, map[string][]fake.Fault{"BatchGetSecretValue": {{Delay: 3 * time.Second}, {Delay: 3 * time.Second}, {Delay: 3 * time.Second}, {Delay: 3 * time.Second}, {Delay: 3 * time.Second}}},
			[]string{"ref+awssecrets://ok"}, "timed out"},
		{"not JSON for a pointer", 0, nil, []string{"ref+awssecrets://ok#/field"}, "not JSON"},
		{"bad option", 0, nil, []string{"ref+awssecrets://ok?regoin=x"}, `unknown option "regoin"`},
		{"empty prefix", 0, nil, []string{"ref+awssecrets://zzz/*"}, "no secret named zzz/*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fake.New("eu-central-1", fake.Secret{Name: "ok", String: "plain " + secret})
			defer srv.Close()
			for action, fs := range tt.faults {
				srv.Inject(action, fs...)
			}
			env(t, srv)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 20 * time.Second
			}
			got, err := resolve(t, New(timeout), tt.specs...)
			if tt.want == "" {
				if err != nil || len(got) != 1 || got[0].Value != "plain "+secret {
					t.Fatalf("resolve = %v, %v; want the secret", byName(got), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("resolve error = %v, want %q", err, tt.want)
			}
			if got != nil {
				t.Errorf("resolve delivered %d secrets despite the error", len(got))
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

func TestARNPartitionsAndRegions(t *testing.T) {
	for _, arn := range []string{
		"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/db-AbCdEf",
		"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:prod/db-AbCdEf",
	} {
		tg, err := parse(secretref.Ref{Raw: "ref+awssecrets://" + arn, Path: arn})
		if err != nil {
			t.Errorf("parse(%s): %v", arn, err)
			continue
		}
		if want := strings.Split(arn, ":")[3]; tg.region != want {
			t.Errorf("parse(%s) region = %q, want %q", arn, tg.region, want)
		}
	}
	if _, err := parse(secretref.Ref{Raw: "x", Path: "arn:aws:s3:::bucket"}); err == nil {
		t.Error("parse accepted an S3 ARN")
	}
}

// TestResponseSizeBound: a response larger than MaxResponse is an error
// naming the reference, read no further, and never a value in a message.
func TestResponseSizeBound(t *testing.T) {
	huge := strings.Repeat("v", provider.MaxResponse+1024)
	srv := fake.New("eu-west-1", fake.Secret{Name: "huge", String: huge})
	defer srv.Close()
	env(t, srv)
	_, err := resolve(t, New(5*time.Second), "ref+awssecrets://huge")
	if err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") || !strings.Contains(err.Error(), "huge") {
		t.Errorf("resolve = %v, want the response refused as too large, naming the reference", err)
	}
	if err != nil && strings.Contains(err.Error(), "vvvvvvvv") {
		t.Error("the error holds the value")
	}
}

func TestPrevious(t *testing.T) {
	cur, old := fixture.Password(30, 20), fixture.Password(31, 20)
	srv := fake.New("eu-west-1",
		fake.Secret{Name: "rotated", String: `{"password":"` + cur + `"}`, Previous: `{"password":"` + old + `"}`},
		fake.Secret{Name: "reshaped", String: `{"password":"` + cur + `"}`, Previous: old},
		fake.Secret{Name: "fresh", String: cur},
	)
	defer srv.Close()
	env(t, srv)
	p := New(5 * time.Second)
	reg := provider.Registry{"awssecrets": p}
	got, err := resolve(t, p, "A=ref+awssecrets://rotated#/password", "B=ref+awssecrets://reshaped#/password", "C=ref+awssecrets://fresh")
	if err != nil {
		t.Fatal(err)
	}
	prev, unsupported, err := reg.Previous(context.Background(), got)
	if err != nil || len(unsupported) != 0 {
		t.Fatal(err, unsupported)
	}
	if len(prev) != 1 || prev[0].Name != "A@previous" || prev[0].Value != old || prev[0].Meta["stages"] != "AWSPREVIOUS" {
		t.Fatalf("previous = %+v; want A@previous alone (B's old version is not JSON, C was never rotated)", prev)
	}
}
