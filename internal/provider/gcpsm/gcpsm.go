// Package gcpsm resolves ref+gcpsecrets:// references from Google Secret
// Manager with Google's own client, as the CI job: its OIDC token
// exchanged through workload identity federation when a provider is named,
// else application default credentials (an external-account file such as
// google-github-actions/auth writes, a service account, the metadata
// server).
package gcpsm

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"cloud.google.com/go/auth/credentials/externalaccount"
	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/secretref"
)

// API is the part of the Secret Manager client the provider uses.
type API interface {
	AccessSecretVersion(context.Context, *secretmanagerpb.AccessSecretVersionRequest, ...gax.CallOption) (*secretmanagerpb.AccessSecretVersionResponse, error)
	GetSecretVersion(context.Context, *secretmanagerpb.GetSecretVersionRequest, ...gax.CallOption) (*secretmanagerpb.SecretVersion, error)
	ListSecrets(context.Context, *secretmanagerpb.ListSecretsRequest, ...gax.CallOption) *secretmanager.SecretIterator
	Close() error
}

// Provider resolves ref+gcpsecrets://PROJECT/SECRET[?version=N][#/json/pointer]
// (the latest version by default). A SECRET ending in * is every secret
// whose name starts so. A response is bounded by provider.MaxResponse (a
// secret holds at most 64 KiB; Google's client would take 2 GiB).
type Provider struct {
	// Open opens a client with the credentials in opts (application
	// default credentials when opts name none).
	Open func(ctx context.Context, opts ...option.ClientOption) (API, error)
	// Federation, when its Provider is set, exchanges the job's OIDC token
	// for Google credentials.
	Federation Federation
	// CallTimeout bounds each call, retries included.
	CallTimeout time.Duration
	// RetryDelay is the first wait before a retry, doubled each time
	// (250 ms when zero); four retries at most.
	RetryDelay time.Duration
}

var _ provider.Provider = (*Provider)(nil)

// Compiled on first use: every command links this package.
var (
	wifProvider = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`)
	})
	projectID  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$|^[0-9]{1,20}$`) })
	secretName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`) })
)

type target struct {
	ref                    secretref.Ref
	project, name, version string
	prefix                 bool
}

func parse(r secretref.Ref) (target, error) {
	t := target{ref: r, version: "latest"}
	for k := range r.Query {
		if k != "version" {
			return t, fmt.Errorf("resolving %q: unknown option %q (want version)", r.Raw, k)
		}
	}
	if v := r.Query.Get("version"); v != "" {
		if n, err := strconv.Atoi(v); (err != nil || n < 1) && v != "latest" {
			return t, fmt.Errorf("resolving %q: version must be a number from 1, or latest", r.Raw)
		}
		t.version = v
	}
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	if len(parts) != 2 {
		return t, fmt.Errorf("resolving %q: want ref+gcpsecrets://PROJECT/SECRET", r.Raw)
	}
	t.project, t.name = parts[0], parts[1]
	if strings.HasSuffix(t.name, "*") {
		t.prefix, t.name = true, strings.TrimSuffix(t.name, "*")
		if r.Query.Has("version") {
			return t, fmt.Errorf("resolving %q: a name ending in * takes no version", r.Raw)
		}
	}
	switch {
	case !projectID().MatchString(t.project):
		return t, fmt.Errorf("resolving %q: a project is its id or number", r.Raw)
	case t.name != "" && !secretName().MatchString(t.name) || t.name == "" && !t.prefix:
		return t, fmt.Errorf("resolving %q: a secret name is 1-255 letters, digits, _ and -", r.Raw)
	}
	return t, nil
}

// New returns a Provider that opens Google's client.
func New(callTimeout time.Duration, f Federation) *Provider {
	return &Provider{CallTimeout: callTimeout, Federation: f, Open: func(ctx context.Context, opts ...option.ClientOption) (API, error) {
		return secretmanager.NewClient(ctx, opts...)
	}}
}

// Federation is workload identity federation with the CI job's token, as
// google-github-actions/auth sets it up, with no credentials file.
type Federation struct {
	// Provider is the workload identity provider's resource name:
	// projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER.
	Provider string
	// ServiceAccount, when set, is impersonated with the federated token.
	ServiceAccount string
	JobToken       provider.JobToken
	// HTTP carries the token exchange (nil: a default client).
	HTTP *http.Client
}

// STS and IAMCredentials are Google's token exchange and impersonation
// endpoints.
const (
	STS            = "https://sts.googleapis.com/v1/token"
	IAMCredentials = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
)

// client opens a client with the job's federated identity, or ADC.
func (p *Provider) client(ctx context.Context) (API, error) {
	opts := []option.ClientOption{
		option.WithUserAgent("secretgate"),
		option.WithGRPCDialOption(grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(provider.MaxResponse))),
	}
	f := p.Federation
	if f.Provider != "" {
		if !wifProvider().MatchString(f.Provider) {
			return nil, errors.New("--gcp-workload-identity-provider: want projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER")
		}
		if f.JobToken == nil || !f.JobToken.Available() {
			return nil, errors.New("--gcp-workload-identity-provider needs the job's OIDC token: in GitHub Actions grant id-token: write; in GitLab name its id_tokens: variable with --id-token-env")
		}
		o := &externalaccount.Options{
			Audience:             "//iam.googleapis.com/" + f.Provider,
			SubjectTokenType:     "urn:ietf:params:oauth:token-type:jwt",
			TokenURL:             STS,
			Scopes:               []string{"https://www.googleapis.com/auth/cloud-platform"},
			SubjectTokenProvider: subjectToken{f.JobToken, "https://iam.googleapis.com/" + f.Provider},
			Client:               f.HTTP,
		}
		if f.ServiceAccount != "" {
			o.ServiceAccountImpersonationURL = IAMCredentials + url.PathEscape(f.ServiceAccount) + ":generateAccessToken"
		}
		creds, err := externalaccount.NewCredentials(o)
		if err != nil {
			return nil, err
		}
		opts = append(opts, option.WithAuthCredentials(creds))
	}
	return p.Open(ctx, opts...)
}

// subjectToken gives Google's token exchange the job's OIDC token, asked
// for the audience google-github-actions/auth asks for.
type subjectToken struct {
	job      provider.JobToken
	audience string
}

func (s subjectToken) SubjectToken(ctx context.Context, _ *externalaccount.RequestOptions) (string, error) {
	return s.job.Get(ctx, s.audience)
}

// Resolve implements provider.Provider.
func (p *Provider) Resolve(ctx context.Context, refs []secretref.Ref) ([][]provider.Secret, error) {
	targets, err := provider.ParseAll(refs, parse)
	if err != nil {
		return nil, err
	}
	c, err := p.client(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: Google credentials: %w", refs[0].Raw, err)
	}
	defer c.Close()
	return provider.ReadAll(ctx, targets, func(ctx context.Context, t target) (provider.Names, error) {
		if !t.prefix {
			return provider.Names{List: []string{t.name}}, nil
		}
		names, err := p.list(ctx, c, t)
		return provider.Names{List: names, Under: t.name, Many: true}, err
	}, func(ctx context.Context, t target, name string) (provider.Secret, error) {
		return p.access(ctx, c, t, name)
	})
}

func (p *Provider) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.CallTimeout > 0 {
		return context.WithTimeout(ctx, p.CallTimeout)
	}
	return ctx, func() {}
}

// retry retries throttling and unavailability four times, doubling the
// wait: the client's own policy waits 2 s first and retries until the
// deadline.
func (p *Provider) retry() gax.CallOption {
	return gax.WithRetry(func() gax.Retryer {
		return &retryer{inner: gax.OnCodes([]codes.Code{codes.Unavailable, codes.ResourceExhausted}, gax.Backoff{
			Initial: cmp.Or(p.RetryDelay, 250*time.Millisecond), Max: 4 * time.Second, Multiplier: 2,
		}), left: 4}
	})
}

type retryer struct {
	inner gax.Retryer
	left  int
}

func (r *retryer) Retry(err error) (time.Duration, bool) {
	if r.left == 0 || strings.Contains(status.Convert(err).Message(), "larger than max") {
		return 0, false // a response over the bound: asking again brings the same
	}
	r.left--
	return r.inner.Retry(err)
}

func (p *Provider) access(ctx context.Context, c API, t target, name string) (provider.Secret, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	full := fmt.Sprintf("projects/%s/secrets/%s/versions/%s", t.project, name, t.version)
	resp, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: full}, p.retry())
	if err != nil {
		return provider.Secret{}, describe(t.ref, "secretmanager.versions.access", err)
	}
	data := resp.GetPayload().GetData()
	if sum := resp.GetPayload().DataCrc32C; sum != nil && int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))) != *sum {
		return provider.Secret{}, fmt.Errorf("resolving %q: the payload's checksum does not match: corrupted in transit", t.ref.Raw)
	}
	version := resp.GetName() // projects/NUMBER/secrets/NAME/versions/N: the version read
	s := provider.Secret{Meta: map[string]string{"provider": "gcpsecrets", "name": t.project + "/" + name}}
	if i := strings.LastIndex(version, "/"); i >= 0 {
		s.Meta["version_id"] = version[i+1:]
	}
	if utf8.Valid(data) {
		s.Value = string(data)
	} else {
		s.Value, s.Also = base64.StdEncoding.EncodeToString(data), []string{string(data)}
	}
	// When it was made needs secretmanager.versions.get, which the
	// accessor role lacks: without it the age is unknown, not an error.
	if v, err := c.GetSecretVersion(ctx, &secretmanagerpb.GetSecretVersionRequest{Name: cmp.Or(version, full)}, p.retry()); err == nil {
		s.Created = v.GetCreateTime().AsTime()
	} else if status.Code(err) != codes.PermissionDenied {
		return provider.Secret{}, describe(t.ref, "secretmanager.versions.get", err)
	}
	if t.ref.Fragment != "" {
		if s.Value, err = provider.PickJSON(s.Value, t.ref.Fragment); err != nil {
			return provider.Secret{}, fmt.Errorf("resolving %q: %w", t.ref.Raw, err)
		}
		s.Also = nil
	}
	return s, nil
}

func (p *Provider) list(ctx context.Context, c API, t target) ([]string, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	it := c.ListSecrets(ctx, &secretmanagerpb.ListSecretsRequest{Parent: "projects/" + t.project, PageSize: 250}, p.retry())
	var names []string
	for {
		s, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, describe(t.ref, "secretmanager.secrets.list", err)
		}
		n := s.GetName()[strings.LastIndex(s.GetName(), "/")+1:]
		if strings.HasPrefix(n, t.name) {
			names = append(names, n)
		}
		if len(names) > provider.MaxList {
			return nil, fmt.Errorf("resolving %q: more than %d secrets start with %s", t.ref.Raw, provider.MaxList, t.name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("resolving %q: no secret in project %s starts with %s", t.ref.Raw, t.project, t.name)
	}
	sort.Strings(names)
	return names, nil
}

// describe turns a gRPC status into one line naming the reference, the
// code, Secret Manager's message (it names resources, never values) and
// the permission a denial is about.
func describe(ref secretref.Ref, permission string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded {
		return fmt.Errorf("resolving %q: Secret Manager timed out", ref.Raw)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("resolving %q: Secret Manager: %w", ref.Raw, err)
	}
	msg := strings.Join(strings.Fields(st.Message()), " ")
	if i := strings.Index(msg, "status code "); i >= 0 && st.Code() == codes.Unauthenticated {
		// The token exchange failed, and the auth library quotes STS's
		// body: keep only its error fields.
		msg = stsError(msg[i:])
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	hint := ""
	switch st.Code() {
	case codes.PermissionDenied:
		hint = fmt.Sprintf(": the identity needs %s (the Secret Manager Secret Accessor role on the secret)", permission)
	case codes.NotFound:
		hint = ": no such secret or version"
	case codes.FailedPrecondition:
		hint = ": the version is disabled or destroyed"
	case codes.Unauthenticated:
		hint = ": the credentials were refused (GOOGLE_APPLICATION_CREDENTIALS, workload identity federation)"
	case codes.ResourceExhausted:
		hint = ": throttled, and still after retries"
	}
	return &statusError{msg: fmt.Sprintf("resolving %q: Secret Manager answered %s%s (%s)", ref.Raw, st.Code(), hint, msg), err: err}
}

var _ provider.Previouser = (*Provider)(nil)

// Previous implements provider.Previouser: the version numbered one below
// the one resolved, unless it is disabled or destroyed.
func (p *Provider) Previous(ctx context.Context, current []provider.Secret) ([]*provider.Secret, error) {
	out := make([]*provider.Secret, len(current))
	var c API
	for i, cur := range current {
		n, err := strconv.Atoi(cur.Meta["version_id"])
		if err != nil || n < 2 {
			continue
		}
		if c == nil {
			if c, err = p.client(ctx); err != nil {
				return nil, fmt.Errorf("resolving %q: Google credentials: %w", cur.Ref.Raw, err)
			}
			defer c.Close()
		}
		project, name, _ := strings.Cut(cur.Meta["name"], "/")
		t := target{ref: cur.Ref, project: project, name: name, version: strconv.Itoa(n - 1)}
		prev, err := p.access(ctx, c, t, name)
		var se *statusError
		if errors.As(err, &se) {
			switch status.Code(se.err) {
			case codes.NotFound, codes.FailedPrecondition:
				continue
			}
		}
		if errors.Is(err, provider.ErrNotPicked) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = &prev
	}
	return out, nil
}

// statusError is a Secret Manager error, described: its message names the
// reference; the gRPC status stays for callers to test.
type statusError struct {
	msg string
	err error
}

func (e *statusError) Error() string { return e.msg }

// stsError reads "status code N: {json}" as Google's STS answers a refused
// exchange, and says its error and description; nothing else of the body.
func stsError(s string) string {
	code, body, _ := strings.Cut(strings.TrimPrefix(s, "status code "), ": ")
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
		return "the token exchange answered " + code
	}
	return "the token exchange answered " + code + ": " + e.Error + ": " + e.Description
}
