// Package awssm resolves ref+awssecrets:// references from AWS Secrets
// Manager with aws-sdk-go-v2 and its default credential chain (OIDC web
// identity from a configure-credentials step, environment keys, profiles,
// instance and task roles).
package awssm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/secretref"
)

// API is the part of the Secrets Manager client the provider uses.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	BatchGetSecretValue(context.Context, *secretsmanager.BatchGetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.BatchGetSecretValueOutput, error)
	ListSecrets(context.Context, *secretsmanager.ListSecretsInput, ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

// Provider resolves ref+awssecrets://NAME-OR-ARN[?region=R&version_stage=S&version_id=V][#/json/pointer].
// A name ending in * is a prefix: every secret under it.
type Provider struct {
	// Client returns a client for a region ("" for the configured default).
	Client func(ctx context.Context, region string) (API, error)
	// CallTimeout bounds each API call, retries included.
	CallTimeout time.Duration

	regions sync.Map // region asked for -> region used, for messages
}

var _ provider.Provider = (*Provider)(nil)

// BatchSize is BatchGetSecretValue's limit of ids a call.
const BatchSize = 20

// New returns a Provider using the default AWS configuration: region from
// the reference, its ARN, or AWS_REGION; endpoints from the SDK's own
// settings (AWS_ENDPOINT_URL_SECRETS_MANAGER included). Throttling and 5xx
// errors are retried by the SDK's standard retryer, with backoff.
func New(callTimeout time.Duration) *Provider {
	var mu sync.Mutex
	clients := map[string]API{}
	p := &Provider{CallTimeout: callTimeout}
	p.Client = func(ctx context.Context, region string) (API, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[region]; ok {
			return c, nil
		}
		opts := []func(*config.LoadOptions) error{
			// The SDK's own log lines (a WARN about checksums, retries) would
			// reach the step's log unasked: errors say what went wrong.
			config.WithLogger(logging.Nop{}),
			config.WithClientLogMode(0),
			config.WithRetryer(func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 5
					o.MaxBackoff = 5 * time.Second
				})
			}),
		}
		if region != "" {
			opts = append(opts, config.WithRegion(region))
		}
		cfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("loading AWS configuration: %w", err)
		}
		if cfg.Region == "" {
			return nil, errors.New("no AWS region: set AWS_REGION, or ?region= on the reference")
		}
		c := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			o.HTTPClient = limitedClient{o.HTTPClient} // after the SDK set it up (AWS_CA_BUNDLE included)
		})
		clients[region] = c
		p.regions.Store(region, cfg.Region)
		return c, nil
	}
	return p
}

// target is one parsed reference.
type target struct {
	ref       secretref.Ref
	id        string
	region    string
	stage     string
	versionID string
	prefix    bool
}

func parse(r secretref.Ref) (target, error) {
	t := target{ref: r, id: r.Path}
	for k := range r.Query {
		switch k {
		case "region", "version_stage", "version_id":
		default:
			return t, fmt.Errorf("resolving %q: unknown option %q (want region, version_stage, version_id)", r.Raw, k)
		}
	}
	t.region, t.stage, t.versionID = r.Query.Get("region"), r.Query.Get("version_stage"), r.Query.Get("version_id")
	if strings.HasPrefix(t.id, "arn:") {
		// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME, any partition.
		parts := strings.SplitN(t.id, ":", 7)
		if len(parts) != 7 || parts[2] != "secretsmanager" || parts[5] != "secret" {
			return t, fmt.Errorf("resolving %q: not a Secrets Manager secret ARN", r.Raw)
		}
		if t.region == "" {
			t.region = parts[3]
		}
	}
	if strings.HasSuffix(t.id, "*") {
		t.prefix = true
		t.id = strings.TrimSuffix(t.id, "*")
		if t.stage != "" || t.versionID != "" {
			return t, fmt.Errorf("resolving %q: a prefix takes no version", r.Raw)
		}
	}
	return t, nil
}

// fetched is what one secret came back as.
type fetched struct {
	name, arn, versionID string
	stages               []string
	value                string
	binary               bool
	raw                  string // the raw bytes of a binary secret
	created              time.Time
}

// Resolve implements provider.Provider.
func (p *Provider) Resolve(ctx context.Context, refs []secretref.Ref) ([][]provider.Secret, error) {
	targets, err := provider.ParseAll(refs, parse)
	if err != nil {
		return nil, err
	}
	// Expand prefixes into the secrets under them.
	names := make([][]string, len(targets))
	for i, t := range targets {
		if !t.prefix {
			names[i] = []string{t.id}
			continue
		}
		list, err := p.list(ctx, t)
		if err != nil {
			return nil, err
		}
		names[i] = list
	}
	// Fetch: one BatchGetSecretValue per 20 ids and region; versions and
	// stages need GetSecretValue.
	got := map[key]fetched{}
	batches := map[string][]string{}
	for i, t := range targets {
		for _, id := range names[i] {
			k := key{t.region, id, t.stage, t.versionID}
			if _, dup := got[k]; dup {
				continue
			}
			got[k] = fetched{}
			if t.stage == "" && t.versionID == "" {
				batches[t.region] = append(batches[t.region], id)
				continue
			}
			f, err := p.get(ctx, t, id)
			if err != nil {
				return nil, err
			}
			got[k] = f
		}
	}
	for _, region := range slices.Sorted(maps.Keys(batches)) {
		if err := p.batch(ctx, region, batches[region], targets, got); err != nil {
			return nil, err
		}
	}
	out := make([][]provider.Secret, len(targets))
	for i, t := range targets {
		for _, id := range names[i] {
			f := got[key{t.region, id, t.stage, t.versionID}]
			v := provider.Secret{
				Value:   f.value,
				Created: f.created,
				Meta: map[string]string{
					"provider": "awssecrets", "name": f.name, "version_id": f.versionID,
					"stages": strings.Join(f.stages, ","),
				},
			}
			if f.binary {
				v.Also = []string{f.raw}
			}
			if t.prefix {
				v.Name = strings.TrimPrefix(f.name, t.id)
			}
			if t.ref.Fragment != "" {
				picked, err := provider.PickJSON(f.value, t.ref.Fragment)
				if err != nil {
					return nil, fmt.Errorf("resolving %q: %w", t.ref.Raw, err)
				}
				v.Value, v.Also = picked, nil
			}
			out[i] = append(out[i], v)
		}
	}
	return out, nil
}

type key struct{ region, id, stage, versionID string }

func (p *Provider) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.CallTimeout > 0 {
		return context.WithTimeout(ctx, p.CallTimeout)
	}
	return ctx, func() {}
}

func (p *Provider) list(ctx context.Context, t target) ([]string, error) {
	c, err := p.Client(ctx, t.region)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", t.ref.Raw, err)
	}
	var names []string
	in := &secretsmanager.ListSecretsInput{
		Filters:    []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{t.id}}},
		MaxResults: aws.Int32(100),
	}
	pages := secretsmanager.NewListSecretsPaginator(c, in)
	for pages.HasMorePages() {
		cctx, cancel := p.call(ctx)
		page, err := pages.NextPage(cctx)
		cancel()
		if err != nil {
			return nil, p.describe(t.ref, "ListSecrets", t.region, err)
		}
		for _, s := range page.SecretList {
			// The name filter matches prefixes of words too: keep true prefixes.
			if n := aws.ToString(s.Name); strings.HasPrefix(n, t.id) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("resolving %q: no secret named %s* in region %s", t.ref.Raw, t.id, p.regionName(t.region))
	}
	sort.Strings(names)
	return names, nil
}

func (p *Provider) get(ctx context.Context, t target, id string) (fetched, error) {
	c, err := p.Client(ctx, t.region)
	if err != nil {
		return fetched{}, fmt.Errorf("resolving %q: %w", t.ref.Raw, err)
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if t.stage != "" {
		in.VersionStage = aws.String(t.stage)
	}
	if t.versionID != "" {
		in.VersionId = aws.String(t.versionID)
	}
	cctx, cancel := p.call(ctx)
	defer cancel()
	out, err := c.GetSecretValue(cctx, in)
	if err != nil {
		return fetched{}, p.describe(t.ref, "GetSecretValue", t.region, err)
	}
	return value(aws.ToString(out.Name), aws.ToString(out.ARN), aws.ToString(out.VersionId), out.VersionStages,
		out.SecretString, out.SecretBinary, out.CreatedDate), nil
}

func value(name, arn, version string, stages []string, str *string, bin []byte, created *time.Time) fetched {
	f := fetched{name: name, arn: arn, versionID: version, stages: stages, created: aws.ToTime(created)}
	if str != nil {
		f.value = *str
	} else {
		f.value, f.binary, f.raw = base64.StdEncoding.EncodeToString(bin), true, string(bin)
	}
	return f
}

// batch fetches ids with BatchGetSecretValue, 20 a call, and falls back to
// GetSecretValue when the batch call is denied (a policy may grant one and
// not the other).
func (p *Provider) batch(ctx context.Context, region string, ids []string, targets []target, got map[key]fetched) error {
	refFor := func(id string) target {
		for _, t := range targets {
			if t.region == region && (t.id == id || t.prefix && strings.HasPrefix(id, t.id)) {
				return t
			}
		}
		return target{ref: secretref.Ref{Raw: "ref+awssecrets://" + id}, region: region}
	}
	c, err := p.Client(ctx, region)
	if err != nil {
		return fmt.Errorf("resolving %q: %w", refFor(ids[0]).ref.Raw, err)
	}
	for start := 0; start < len(ids); start += BatchSize {
		chunk := ids[start:min(start+BatchSize, len(ids))]
		cctx, cancel := p.call(ctx)
		out, err := c.BatchGetSecretValue(cctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: chunk})
		cancel()
		if err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException" {
				for _, id := range chunk {
					f, err := p.get(ctx, refFor(id), id)
					if err != nil {
						return err
					}
					got[key{region, id, "", ""}] = f
				}
				continue
			}
			return p.describe(refFor(chunk[0]).ref, "BatchGetSecretValue", region, err)
		}
		for _, e := range out.Errors {
			id := aws.ToString(e.SecretId)
			return p.describe(refFor(id).ref, "BatchGetSecretValue", region,
				&smithy.GenericAPIError{Code: aws.ToString(e.ErrorCode), Message: aws.ToString(e.Message)})
		}
		for _, sv := range out.SecretValues {
			f := value(aws.ToString(sv.Name), aws.ToString(sv.ARN), aws.ToString(sv.VersionId), sv.VersionStages,
				sv.SecretString, sv.SecretBinary, sv.CreatedDate)
			for _, id := range chunk {
				if id == f.name || id == f.arn {
					got[key{region, id, "", ""}] = f
				}
			}
		}
		for _, id := range chunk {
			if got[key{region, id, "", ""}].name == "" {
				return fmt.Errorf("resolving %q: BatchGetSecretValue returned no value for it", refFor(id).ref.Raw)
			}
		}
	}
	return nil
}

// describe turns an AWS error into a message naming the reference, the
// action and the region; AWS error messages name secrets, never values.
func (p *Provider) describe(ref secretref.Ref, action, region string, err error) error {
	var ae smithy.APIError
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("resolving %q: secretsmanager:%s timed out", ref.Raw, action)
	}
	if !errors.As(err, &ae) {
		return fmt.Errorf("resolving %q: secretsmanager:%s: %w", ref.Raw, action, err)
	}
	switch ae.ErrorCode() {
	case "ResourceNotFoundException":
		return notFound{fmt.Errorf("resolving %q: secret not found in region %s (%s)", ref.Raw, p.regionName(region), ae.ErrorCode())}
	case "AccessDeniedException":
		return fmt.Errorf("resolving %q: access denied to secretsmanager:%s (%s); the role needs it on this secret", ref.Raw, action, ae.ErrorCode())
	case "DecryptionFailure":
		return fmt.Errorf("resolving %q: Secrets Manager cannot decrypt it with its KMS key (%s)", ref.Raw, ae.ErrorCode())
	}
	return fmt.Errorf("resolving %q: secretsmanager:%s: %s: %s", ref.Raw, action, ae.ErrorCode(), ae.ErrorMessage())
}

// notFound is the error of a secret or version that does not exist.
type notFound struct{ error }

func (e notFound) Unwrap() error { return e.error }

func (p *Provider) regionName(r string) string {
	if used, ok := p.regions.Load(r); ok {
		return used.(string)
	}
	return r
}

// limitedClient cuts every response body at provider.MaxResponse.
type limitedClient struct{ c aws.HTTPClient }

func (l limitedClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := l.c.Do(req)
	if resp != nil && resp.Body != nil {
		resp.Body = provider.LimitBody(resp.Body)
	}
	return resp, err
}

var _ provider.Previouser = (*Provider)(nil)

// Previous implements provider.Previouser: the AWSPREVIOUS stage, which a
// rotation gives the version it replaced.
func (p *Provider) Previous(ctx context.Context, current []provider.Secret) ([]*provider.Secret, error) {
	out := make([]*provider.Secret, len(current))
	for i, s := range current {
		t, err := parse(s.Ref)
		if err != nil {
			return nil, err
		}
		t.stage, t.versionID, t.prefix = "AWSPREVIOUS", "", false
		f, err := p.get(ctx, t, s.Meta["name"])
		if errors.As(err, new(notFound)) {
			continue // never rotated
		}
		if err != nil {
			return nil, err
		}
		prev := &provider.Secret{Value: f.value, Created: f.created, Meta: map[string]string{
			"provider": "awssecrets", "name": f.name, "version_id": f.versionID, "stages": strings.Join(f.stages, ","),
		}}
		if f.binary {
			prev.Also = []string{f.raw}
		}
		if s.Ref.Fragment != "" {
			picked, err := provider.PickJSON(f.value, s.Ref.Fragment)
			if err != nil {
				continue // the old version had another shape: nothing there to match
			}
			prev.Value, prev.Also = picked, nil
		}
		out[i] = prev
	}
	return out, nil
}
