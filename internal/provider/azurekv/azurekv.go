// Package azurekv resolves ref+azurekeyvault:// references from Azure Key
// Vault with Azure's own clients (azsecrets, azidentity), authenticated as
// the CI job: workload identity federation with the job's OIDC token, or
// with AZURE_FEDERATED_TOKEN_FILE, else azidentity's default chain
// (environment, managed identity, the Azure CLI's login).
package azurekv

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/secretref"
)

// Audience is what Entra ID federation wants in the job's token, as
// azure/login asks for it.
const Audience = "api://AzureADTokenExchange"

// Provider resolves ref+azurekeyvault://VAULT/SECRET[/VERSION][#/json/pointer].
// A SECRET ending in * is every enabled secret whose name starts so.
type Provider struct {
	Getenv func(string) string
	// JobToken is the CI job's OIDC identity, for federation.
	JobToken provider.JobToken
	// Credential, when set, replaces the chain (tests).
	Credential azcore.TokenCredential
	// HTTP carries every request (nil: a default client); responses are
	// cut at provider.MaxResponse either way.
	HTTP *http.Client
	// CallTimeout bounds each try of a call.
	CallTimeout time.Duration
	// RetryDelay is the first wait before a retry, doubled each time
	// (250 ms when zero).
	RetryDelay time.Duration
}

var _ provider.Provider = (*Provider)(nil)

// Compiled on first use: every command links this package.
var (
	vaultName  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]$`) })
	secretName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9-]{1,127}$`) })
	versionID  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-fA-F]{32}$`) })
)

type target struct {
	ref                  secretref.Ref
	vault, name, version string
	prefix               bool
}

func parse(r secretref.Ref) (target, error) {
	t := target{ref: r}
	if len(r.Query) > 0 {
		return t, fmt.Errorf("resolving %q: azurekeyvault takes no ?options (a version is a path segment: VAULT/SECRET/VERSION)", r.Raw)
	}
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return t, fmt.Errorf("resolving %q: want ref+azurekeyvault://VAULT/SECRET[/VERSION]", r.Raw)
	}
	t.vault, t.name = parts[0], parts[1]
	if len(parts) == 3 {
		t.version = parts[2]
	}
	if strings.HasSuffix(t.name, "*") {
		t.prefix, t.name = true, strings.TrimSuffix(t.name, "*")
		if t.version != "" {
			return t, fmt.Errorf("resolving %q: a name ending in * takes no version", r.Raw)
		}
	}
	switch {
	case !vaultName().MatchString(t.vault):
		// The vault name becomes a host name: nothing else may pass.
		return t, fmt.Errorf("resolving %q: a Key Vault name is 3-24 letters, digits and hyphens", r.Raw)
	case t.name != "" && !secretName().MatchString(t.name) || t.name == "" && !t.prefix:
		return t, fmt.Errorf("resolving %q: a secret name is 1-127 letters, digits and hyphens", r.Raw)
	case t.version != "" && !versionID().MatchString(t.version):
		return t, fmt.Errorf("resolving %q: a version is 32 hexadecimal digits", r.Raw)
	}
	return t, nil
}

// Resolve implements provider.Provider.
func (p *Provider) Resolve(ctx context.Context, refs []secretref.Ref) ([][]provider.Secret, error) {
	targets, err := provider.ParseAll(refs, parse)
	if err != nil {
		return nil, err
	}
	client, err := p.clients(refs[0])
	if err != nil {
		return nil, err
	}
	return provider.ReadAll(ctx, targets, func(ctx context.Context, t target) (provider.Names, error) {
		if !t.prefix {
			return provider.Names{List: []string{t.name}}, nil
		}
		c, err := client(t.vault, t.ref)
		if err != nil {
			return provider.Names{}, err
		}
		names, err := p.list(ctx, c, t)
		return provider.Names{List: names, Under: t.name, Many: true}, err
	}, func(ctx context.Context, t target, name string) (provider.Secret, error) {
		c, err := client(t.vault, t.ref)
		if err != nil {
			return provider.Secret{}, err
		}
		return p.get(ctx, c, t, name)
	})
}

// clients returns one client a vault, made on first use, all with the
// job's one credential: a token is asked of Entra ID once a command.
func (p *Provider) clients(first secretref.Ref) (func(vault string, ref secretref.Ref) (*azsecrets.Client, error), error) {
	opts := p.clientOptions()
	cred, err := p.credential(opts)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: Azure credentials: %w", first.Raw, err)
	}
	made := map[string]*azsecrets.Client{}
	return func(vault string, ref secretref.Ref) (*azsecrets.Client, error) {
		if c := made[vault]; c != nil {
			return c, nil
		}
		c, err := azsecrets.NewClient(p.vaultURL(vault), cred, &azsecrets.ClientOptions{ClientOptions: opts})
		if err != nil {
			return nil, fmt.Errorf("resolving %q: %w", ref.Raw, err)
		}
		made[vault] = c
		return c, nil
	}, nil
}

// vaultURL is the vault's address in the cloud AZURE_KEYVAULT_DNS_SUFFIX
// names (vault.azure.net, vault.azure.cn, vault.usgovcloudapi.net).
func (p *Provider) vaultURL(vault string) string {
	suffix := p.Getenv("AZURE_KEYVAULT_DNS_SUFFIX")
	if suffix == "" {
		suffix = "vault.azure.net"
	}
	return "https://" + vault + "." + strings.TrimPrefix(suffix, ".")
}

func (p *Provider) clientOptions() azcore.ClientOptions {
	base := http.DefaultTransport
	if p.HTTP != nil && p.HTTP.Transport != nil {
		base = p.HTTP.Transport
	}
	limited := &http.Client{Transport: provider.LimitTransport(base)}
	opts := azcore.ClientOptions{
		Transport: limited,
		Retry: policy.RetryOptions{
			MaxRetries: 4, RetryDelay: cmp.Or(p.RetryDelay, 250*time.Millisecond), MaxRetryDelay: 4 * time.Second,
			TryTimeout: p.CallTimeout, // 429 and 5xx retried, Retry-After honoured
		},
		Logging: policy.LogOptions{IncludeBody: false},
	}
	if host := p.Getenv("AZURE_AUTHORITY_HOST"); host != "" {
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: host}
	}
	return opts
}

// credential is the job's identity: a federated token file, the job's
// OIDC token exchanged with Entra ID, or azidentity's default chain.
func (p *Provider) credential(opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	if p.Credential != nil {
		return p.Credential, nil
	}
	tenant, client := p.Getenv("AZURE_TENANT_ID"), p.Getenv("AZURE_CLIENT_ID")
	if file := p.Getenv("AZURE_FEDERATED_TOKEN_FILE"); file != "" && tenant != "" && client != "" {
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, ClientID: client, TenantID: tenant, TokenFilePath: file,
		})
	}
	if p.JobToken != nil && p.JobToken.Available() && tenant != "" && client != "" {
		return azidentity.NewClientAssertionCredential(tenant, client, func(ctx context.Context) (string, error) {
			return p.JobToken.Get(ctx, Audience)
		}, &azidentity.ClientAssertionCredentialOptions{ClientOptions: opts})
	}
	return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts, TenantID: tenant})
}

func (p *Provider) call(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.CallTimeout > 0 {
		// Each try is bounded by TryTimeout; the call, retries included,
		// by a few of them.
		return context.WithTimeout(ctx, 3*p.CallTimeout)
	}
	return ctx, func() {}
}

func (p *Provider) get(ctx context.Context, c *azsecrets.Client, t target, name string) (provider.Secret, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	resp, err := c.GetSecret(ctx, name, t.version, nil)
	if err != nil {
		return provider.Secret{}, describe(t.ref, "get", err)
	}
	if resp.Value == nil {
		return provider.Secret{}, fmt.Errorf("resolving %q: Key Vault returned no value", t.ref.Raw)
	}
	s := provider.Secret{
		Value: *resp.Value,
		Meta:  map[string]string{"provider": "azurekeyvault", "name": t.vault + "/" + name},
	}
	if resp.ID != nil {
		s.Meta["version_id"] = resp.ID.Version()
	}
	if a := resp.Attributes; a != nil && a.Created != nil {
		s.Created = *a.Created
	}
	if t.ref.Fragment != "" {
		if s.Value, err = provider.PickJSON(s.Value, t.ref.Fragment); err != nil {
			return provider.Secret{}, fmt.Errorf("resolving %q: %w", t.ref.Raw, err)
		}
	}
	return s, nil
}

// list returns the names of the enabled secrets starting with t.name.
func (p *Provider) list(ctx context.Context, c *azsecrets.Client, t target) ([]string, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	var names []string
	pager := c.NewListSecretPropertiesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, describe(t.ref, "list", err)
		}
		for _, s := range page.Value {
			if s == nil || s.ID == nil || s.Managed != nil && *s.Managed {
				continue // a certificate's key: not a secret of the user's
			}
			if a := s.Attributes; a != nil && a.Enabled != nil && !*a.Enabled {
				continue
			}
			if n := s.ID.Name(); strings.HasPrefix(n, t.name) {
				names = append(names, n)
			}
		}
		if len(names) > provider.MaxList {
			return nil, fmt.Errorf("resolving %q: more than %d secrets start with %s", t.ref.Raw, provider.MaxList, t.name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("resolving %q: no enabled secret in %s starts with %s", t.ref.Raw, t.vault, t.name)
	}
	sort.Strings(names)
	return names, nil
}

// describe turns an Azure error into one line naming the reference, the
// status, Key Vault's code and message (they name vaults, secrets and
// principals, never values), and what permission is missing.
func describe(ref secretref.Ref, op string, err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("resolving %q: Key Vault secrets/%s timed out", ref.Raw, op)
		}
		var cu *azidentity.AuthenticationFailedError
		if errors.As(err, &cu) {
			msg := "no detail"
			if cu.RawResponse != nil && cu.RawResponse.Body != nil {
				var body struct {
					Error       string `json:"error"`
					Description string `json:"error_description"`
				}
				if b, err := io.ReadAll(io.LimitReader(cu.RawResponse.Body, 64<<10)); err == nil && json.Unmarshal(b, &body) == nil {
					msg = body.Error + ": " + body.Description
				}
			}
			return fmt.Errorf("resolving %q: Entra ID refused the identity (%s)", ref.Raw, oneLine(msg, 300))
		}
		return fmt.Errorf("resolving %q: Key Vault secrets/%s: %s", ref.Raw, op, oneLine(err.Error(), 300))
	}
	code, msg := re.ErrorCode, ""
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		var body struct {
			Error struct {
				Code, Message string
				Inner         *struct{ Code string } `json:"innererror"`
			} `json:"error"`
		}
		if b, err := io.ReadAll(io.LimitReader(re.RawResponse.Body, 64<<10)); err == nil && json.Unmarshal(b, &body) == nil {
			msg = body.Error.Message
			if body.Error.Inner != nil && body.Error.Inner.Code != "" {
				code = body.Error.Inner.Code
			}
		}
	}
	hint := ""
	switch {
	case code == "SecretDisabled":
		hint = ": the secret or this version is disabled"
	case re.StatusCode == http.StatusForbidden:
		hint = fmt.Sprintf(": the identity needs secrets/%s on this vault (the Key Vault Secrets User role, or an access policy)", op)
	case re.StatusCode == http.StatusNotFound:
		hint = ": no such secret or version"
	case re.StatusCode == http.StatusTooManyRequests:
		hint = ": throttled, and still after retries"
	}
	return fmt.Errorf("resolving %q: Key Vault answered %d %s%s (%s)", ref.Raw, re.StatusCode, code, hint, oneLine(msg, 300))
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}

var _ provider.Previouser = (*Provider)(nil)

// Previous implements provider.Previouser: the newest enabled version made
// before the one resolved (listing versions needs secrets/list).
func (p *Provider) Previous(ctx context.Context, current []provider.Secret) ([]*provider.Secret, error) {
	out := make([]*provider.Secret, len(current))
	if len(current) == 0 {
		return out, nil
	}
	clientFor, err := p.clients(current[0].Ref)
	if err != nil {
		return nil, err
	}
	for i, c := range current {
		vault, name, _ := strings.Cut(c.Meta["name"], "/")
		client, err := clientFor(vault, c.Ref)
		if err != nil {
			return nil, err
		}
		version, err := p.previousVersion(ctx, client, c, name)
		if err != nil {
			return nil, err
		}
		if version == "" {
			continue // never rotated, or the old versions are disabled
		}
		t := target{ref: c.Ref, vault: vault, name: name, version: version}
		prev, err := p.get(ctx, client, t, name)
		if errors.Is(err, provider.ErrNotPicked) {
			continue // the old version had another shape: nothing there to match
		}
		if err != nil {
			return nil, err
		}
		out[i] = &prev
	}
	return out, nil
}

func (p *Provider) previousVersion(ctx context.Context, c *azsecrets.Client, cur provider.Secret, name string) (string, error) {
	ctx, cancel := p.call(ctx)
	defer cancel()
	var best string
	var bestAt time.Time
	pager := c.NewListSecretPropertiesVersionsPager(name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return "", describe(cur.Ref, "list", err)
		}
		for _, v := range page.Value {
			if v == nil || v.ID == nil || v.Attributes == nil || v.Attributes.Created == nil {
				continue
			}
			if a := v.Attributes; a.Enabled != nil && !*a.Enabled || v.ID.Version() == cur.Meta["version_id"] {
				continue
			}
			at := *v.Attributes.Created
			if at.After(cur.Created) || best != "" && !at.After(bestAt) {
				continue
			}
			best, bestAt = v.ID.Version(), at
		}
	}
	return best, nil
}
