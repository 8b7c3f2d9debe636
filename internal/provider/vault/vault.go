// Package vault resolves ref+vault:// references from HashiCorp Vault with
// Vault's own API client: KV version 2 (found from the mount, as the vault
// CLI does), KV version 1 and any engine that answers a read, logged in
// with the identity the CI job already has (its OIDC token through the JWT
// auth method, AppRole, a Kubernetes service account) or VAULT_TOKEN.
package vault

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/secretref"
)

// Auth says how to log in. Every field may be empty: the method is then
// chosen from what the job has (VAULT_TOKEN, VAULT_ROLE_ID, a job token, a
// service account), and the mount is the method's name.
type Auth struct {
	Method   string // token, jwt, approle or kubernetes
	Mount    string // where the auth method is enabled
	Role     string // the role to log in as (jwt, kubernetes)
	Audience string // the audience asked of the CI job's OIDC token (jwt)
}

// Methods are the auth methods Auth.Method may name.
var Methods = []string{"token", "jwt", "approle", "kubernetes"}

// ServiceAccountToken is where Kubernetes mounts a pod's token.
const ServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// Provider resolves ref+vault://PATH[?version=N][#/json/pointer]. PATH is
// the secret's path as the vault CLI takes it (secret/app for KV v2's
// secret/data/app); a path ending in * is every secret under it.
type Provider struct {
	Getenv func(string) string
	Auth   Auth
	// JobToken returns the CI job's OIDC token, for the jwt method.
	JobToken provider.JobToken
	ReadFile func(string) ([]byte, error)
	// Transport carries the requests; nil for one that trusts VAULT_CACERT.
	Transport http.RoundTripper
	// CallTimeout bounds each request, retries included.
	CallTimeout time.Duration
}

var _ provider.Provider = (*Provider)(nil)

// target is one parsed reference.
type target struct {
	ref     secretref.Ref
	path    string
	version int
	prefix  bool
}

func parse(r secretref.Ref) (target, error) {
	t := target{ref: r, path: strings.Trim(r.Path, "/")}
	for k := range r.Query {
		switch k {
		case "version":
		case "address", "token", "token_env", "token_file", "namespace", "auth_method", "role_id", "secret_id":
			// vals takes these on the reference; here they come from the
			// job's environment and flags only, so that a reference in a
			// reviewed file cannot send the job's Vault token elsewhere.
			return t, fmt.Errorf("resolving %q: %s is not taken from a reference: set VAULT_ADDR, VAULT_NAMESPACE and the --vault-* flags", r.Raw, k)
		default:
			return t, fmt.Errorf("resolving %q: unknown option %q (want version)", r.Raw, k)
		}
	}
	if v := r.Query.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return t, fmt.Errorf("resolving %q: version must be a number from 1", r.Raw)
		}
		t.version = n
	}
	if strings.HasSuffix(t.path, "*") {
		t.prefix, t.path = true, strings.TrimSuffix(t.path, "*")
		if t.version != 0 {
			return t, fmt.Errorf("resolving %q: a path ending in * takes no version", r.Raw)
		}
	}
	if strings.Trim(t.path, "/") == "" || strings.Contains(t.path, "..") {
		return t, fmt.Errorf("resolving %q: want a secret's path, such as secret/app", r.Raw)
	}
	return t, nil
}

// session is one Resolve's client and what it learnt.
type session struct {
	p      *Provider
	c      *api.Client
	mounts map[string]mount // by mount path
	login  bool             // the token came from a login: revoke it after
}

// mount is the secrets engine a path lives on.
type mount struct {
	path    string // "secret/", "" when Vault would not say
	version int    // 2 for KV v2, else 1
}

// Resolve implements provider.Provider.
func (p *Provider) Resolve(ctx context.Context, refs []secretref.Ref) ([][]provider.Secret, error) {
	targets, err := provider.ParseAll(refs, parse)
	if err != nil {
		return nil, err
	}
	s, err := p.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", refs[0].Raw, err)
	}
	defer s.close()
	return provider.ReadAll(ctx, targets, func(ctx context.Context, t target) (provider.Names, error) {
		if !t.prefix {
			return provider.Names{List: []string{t.path}}, nil
		}
		paths, err := s.list(ctx, t)
		return provider.Names{List: paths, Under: t.path, Many: true}, err
	}, s.read)
}

// open makes a client for VAULT_ADDR and logs in.
func (p *Provider) open(ctx context.Context) (*session, error) {
	transport := p.Transport
	cfg := &api.Config{
		Address:      cmp.Or(p.Getenv(api.EnvVaultAddress), "https://127.0.0.1:8200"),
		Timeout:      p.CallTimeout,
		MaxRetries:   3, // 412, 429 and 5xx, with backoff
		MinRetryWait: 250 * time.Millisecond,
		MaxRetryWait: 2 * time.Second,
		Backoff:      retryablehttp.DefaultBackoff, // doubling; Retry-After honoured
	}
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		cfg.HttpClient = &http.Client{Transport: t}
		skip, _ := strconv.ParseBool(p.Getenv(api.EnvVaultSkipVerify))
		err := cfg.ConfigureTLS(&api.TLSConfig{
			CACert: p.Getenv(api.EnvVaultCACert), CAPath: p.Getenv(api.EnvVaultCAPath),
			ClientCert: p.Getenv(api.EnvVaultClientCert), ClientKey: p.Getenv(api.EnvVaultClientKey),
			TLSServerName: p.Getenv(api.EnvVaultTLSServerName), Insecure: skip,
		})
		if err != nil {
			return nil, fmt.Errorf("vault TLS settings: %w", err)
		}
		transport = t
	}
	cfg.HttpClient = &http.Client{
		Transport: provider.LimitTransport(transport),
		// Redirects are for Vault's client to follow (a standby node
		// sends to the active one), not for net/http.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault client: %w", err)
	}
	c.SetToken("") // NewClient read the process environment; the token is ours to set
	c.SetNamespace(p.Getenv(api.EnvVaultNamespace))
	s := &session{p: p, c: c, mounts: map[string]mount{}}
	if err := s.logIn(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// method is the auth method to use: the one asked for, or the first the
// job has the makings of.
func (p *Provider) method() (string, error) {
	a := p.Auth
	if a.Method != "" {
		for _, m := range Methods {
			if a.Method == m {
				return m, nil
			}
		}
		return "", fmt.Errorf("unknown Vault auth method %q (want %s)", a.Method, strings.Join(Methods, ", "))
	}
	switch {
	case p.Getenv(api.EnvVaultToken) != "":
		return "token", nil
	case p.Getenv("VAULT_ROLE_ID") != "":
		return "approle", nil
	case a.Role != "" && p.JobToken != nil && p.JobToken.Available():
		return "jwt", nil
	case a.Role != "" && p.ReadFile != nil:
		if _, err := p.ReadFile(ServiceAccountToken); err == nil {
			return "kubernetes", nil
		}
	}
	return "", errors.New("no Vault credentials: set VAULT_TOKEN; or --vault-role with the job's OIDC token (GitHub: permissions id-token: write; GitLab: id_tokens: and --id-token-env), or with a Kubernetes service account; or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole")
}

// logIn sets the client's token: VAULT_TOKEN, or one a login returns.
func (s *session) logIn(ctx context.Context) error {
	p := s.p
	m, err := p.method()
	if err != nil {
		return err
	}
	if m == "token" {
		tok := p.Getenv(api.EnvVaultToken)
		if tok == "" {
			return errors.New("--vault-auth-method token: VAULT_TOKEN is not set")
		}
		s.c.SetToken(tok)
		return nil
	}
	body := map[string]any{}
	switch m {
	case "approle":
		body["role_id"], body["secret_id"] = p.Getenv("VAULT_ROLE_ID"), p.Getenv("VAULT_SECRET_ID")
		if body["role_id"] == "" {
			return errors.New("AppRole login: VAULT_ROLE_ID is not set")
		}
		if p.Auth.Role != "" {
			return errors.New("AppRole login: the role is VAULT_ROLE_ID, not --vault-role")
		}
	case "jwt", "kubernetes":
		if p.Auth.Role == "" {
			return fmt.Errorf("%s login: --vault-role (SECRETGATE_VAULT_ROLE) names the Vault role to log in as", m)
		}
		body["role"] = p.Auth.Role
		if m == "jwt" {
			if p.JobToken == nil {
				return errors.New("jwt login: no job token")
			}
			jwt, err := p.JobToken.Get(ctx, p.Auth.Audience)
			if err != nil {
				return fmt.Errorf("jwt login: %w", err)
			}
			body["jwt"] = jwt
		} else {
			jwt, err := p.ReadFile(ServiceAccountToken)
			if err != nil {
				return fmt.Errorf("kubernetes login: reading the service account token: %w", err)
			}
			body["jwt"] = strings.TrimSpace(string(jwt))
		}
	}
	mountPath := strings.Trim(cmp.Or(p.Auth.Mount, m), "/")
	loginPath := "auth/" + mountPath + "/login"
	resp, err := s.c.Logical().WriteWithContext(ctx, loginPath, body)
	if err != nil {
		// Not the role's name: it is what the user typed, maybe by mistake a value.
		msg := describe(err).Error()
		if p.Auth.Role != "" {
			msg = strings.ReplaceAll(msg, p.Auth.Role, "(the role)")
		}
		return fmt.Errorf("%s login at %s: %s", m, loginPath, msg)
	}
	if resp == nil || resp.Auth == nil || resp.Auth.ClientToken == "" {
		return fmt.Errorf("%s login at %s: Vault returned no token", m, loginPath)
	}
	s.c.SetToken(resp.Auth.ClientToken)
	s.login = true
	return nil
}

// close revokes a token this session logged in for: it is of no more use,
// and a token that no longer exists cannot leak.
func (s *session) close() {
	if !s.login {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = s.c.Logical().WriteWithContext(ctx, "auth/token/revoke-self", nil)
	s.c.ClearToken()
}

// mountOf asks Vault which engine serves a path, as the vault CLI does.
// Vault before 0.10 did not know the question: KV v1 then.
func (s *session) mountOf(ctx context.Context, t target, pth string) (mount, error) {
	for prefix, m := range s.mounts {
		if m.path != "" && strings.HasPrefix(pth+"/", prefix) {
			return m, nil
		}
	}
	resp, err := s.c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+pth)
	var re *api.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusNotFound || err == nil && resp == nil {
		return mount{version: 1}, nil
	}
	if err != nil {
		return mount{}, fmt.Errorf("resolving %q: finding the secrets engine of %s: %w", t.ref.Raw, pth, describe(err))
	}
	m := mount{version: 1}
	m.path, _ = resp.Data["path"].(string)
	if opts, ok := resp.Data["options"].(map[string]any); ok && opts["version"] == "2" {
		m.version = 2
	}
	// Inside a namespace Vault may name the mount with the namespace
	// before it (team-a/secret/), which the path the user gave lacks:
	// drop leading parts until the mount prefixes the path, as the CLI does.
	for m.path != "" && !strings.HasPrefix(pth+"/", m.path) {
		_, rest, _ := strings.Cut(m.path, "/")
		m.path = rest
	}
	if m.path != "" {
		s.mounts[m.path] = m
	}
	return m, nil
}

// apiPath turns a CLI path into the API path of an operation on KV v2
// (data/ or metadata/ after the mount); other engines take it as it is.
func (m mount) apiPath(pth, op string) string {
	if m.version != 2 || m.path == "" {
		return pth
	}
	rest := strings.TrimPrefix(pth+"/", m.path)
	rest = strings.TrimSuffix(rest, "/")
	if strings.HasPrefix(rest, op+"/") {
		return pth // already an API path
	}
	return m.path + op + "/" + rest
}

func (s *session) read(ctx context.Context, t target, pth string) (provider.Secret, error) {
	m, err := s.mountOf(ctx, t, pth)
	if err != nil {
		return provider.Secret{}, err
	}
	apiPath := m.apiPath(pth, "data")
	var params map[string][]string
	if t.version != 0 {
		if m.version != 2 {
			return provider.Secret{}, fmt.Errorf("resolving %q: ?version needs KV version 2, and %s is not on it", t.ref.Raw, pth)
		}
		params = map[string][]string{"version": {strconv.Itoa(t.version)}}
	}
	resp, err := s.c.Logical().ReadWithDataWithContext(ctx, apiPath, params)
	if err != nil {
		return provider.Secret{}, fmt.Errorf("resolving %q: reading %s: %w", t.ref.Raw, apiPath, describe(err))
	}
	data := map[string]any(nil)
	if resp != nil {
		data = resp.Data
	}
	sec := provider.Secret{Meta: map[string]string{"provider": "vault", "name": pth}}
	if m.version == 2 {
		meta, _ := data["metadata"].(map[string]any)
		if meta != nil {
			if v, ok := meta["version"].(json.Number); ok {
				sec.Meta["version_id"] = v.String()
			}
			if c, ok := meta["created_time"].(string); ok {
				sec.Created, _ = time.Parse(time.RFC3339Nano, c)
			}
			if d, _ := meta["deletion_time"].(string); d != "" || meta["destroyed"] == true {
				return provider.Secret{}, errDeleted{fmt.Errorf("resolving %q: version %s of %s is deleted", t.ref.Raw, sec.Meta["version_id"], pth)}
			}
		}
		data, _ = data["data"].(map[string]any)
	}
	if data == nil {
		return provider.Secret{}, fmt.Errorf("resolving %q: no secret at %s", t.ref.Raw, apiPath)
	}
	doc, err := json.Marshal(data)
	if err != nil {
		return provider.Secret{}, fmt.Errorf("resolving %q: %w", t.ref.Raw, err)
	}
	sec.Value = string(doc)
	if t.ref.Fragment != "" {
		if sec.Value, err = provider.PickJSON(sec.Value, t.ref.Fragment); err != nil {
			return provider.Secret{}, fmt.Errorf("resolving %q: %w", t.ref.Raw, err)
		}
	}
	return sec, nil
}

// errDeleted is a KV v2 version that was deleted or destroyed.
type errDeleted struct{ error }

var _ provider.Previouser = (*Provider)(nil)

// Previous implements provider.Previouser: on KV v2, the version before
// the one resolved, unless it was deleted or destroyed.
func (p *Provider) Previous(ctx context.Context, current []provider.Secret) ([]*provider.Secret, error) {
	out := make([]*provider.Secret, len(current))
	var s *session
	for i, c := range current {
		n, err := strconv.Atoi(c.Meta["version_id"])
		if err != nil || n < 2 {
			continue // KV v1, another engine, or never rotated
		}
		if s == nil {
			if s, err = p.open(ctx); err != nil {
				return nil, fmt.Errorf("resolving %q: %w", c.Ref.Raw, err)
			}
			defer s.close()
		}
		t := target{ref: c.Ref, path: c.Meta["name"], version: n - 1}
		prev, err := s.read(ctx, t, t.path)
		if errors.As(err, new(errDeleted)) || errors.Is(err, provider.ErrNotPicked) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = &prev
	}
	return out, nil
}

// list returns the paths of every secret under a path ending in *: the
// folder it names and its subfolders, keys starting with what follows the
// last slash.
func (s *session) list(ctx context.Context, t target) ([]string, error) {
	dir, base := "", t.path
	if i := strings.LastIndex(t.path, "/"); i >= 0 {
		dir, base = t.path[:i+1], t.path[i+1:]
	}
	if dir == "" {
		return nil, fmt.Errorf("resolving %q: a * needs a folder before it, such as secret/app/*", t.ref.Raw)
	}
	var out []string
	var walk func(folder string, depth int) error
	walk = func(folder string, depth int) error {
		m, err := s.mountOf(ctx, t, strings.TrimSuffix(folder, "/"))
		if err != nil {
			return err
		}
		apiPath := m.apiPath(strings.TrimSuffix(folder, "/"), "metadata")
		resp, err := s.c.Logical().ListWithContext(ctx, apiPath)
		if err != nil {
			return fmt.Errorf("resolving %q: listing %s: %w", t.ref.Raw, apiPath, describe(err))
		}
		if resp == nil {
			return nil
		}
		keys, _ := resp.Data["keys"].([]any)
		names := make([]string, 0, len(keys))
		for _, k := range keys {
			if k, ok := k.(string); ok {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			full := folder + k
			if folder == dir && !strings.HasPrefix(k, base) {
				continue
			}
			if strings.HasSuffix(k, "/") {
				if depth >= 8 {
					return fmt.Errorf("resolving %q: folders nest deeper than 8 under %s", t.ref.Raw, dir)
				}
				if err := walk(full, depth+1); err != nil {
					return err
				}
				continue
			}
			if len(out) == provider.MaxList {
				return fmt.Errorf("resolving %q: more than %d secrets under %s", t.ref.Raw, provider.MaxList, dir)
			}
			out = append(out, full)
		}
		return nil
	}
	if err := walk(dir, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("resolving %q: no secret under %s*", t.ref.Raw, t.path)
	}
	return out, nil
}

// describe turns a Vault client error into one line: the status and
// Vault's own messages, which name paths and roles, never values.
func describe(err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		if re.RawError {
			// Not Vault's JSON: a proxy's page, say, which is no message
			// to repeat (it may hold anything).
			return fmt.Errorf("answered %d with a body that is not Vault's (is VAULT_ADDR a Vault server?)", re.StatusCode)
		}
		msgs := strings.Join(strings.Fields(strings.Join(re.Errors, "; ")), " ")
		switch re.StatusCode {
		case http.StatusForbidden:
			return fmt.Errorf("permission denied (403): the token's policy must grant it (%s)", cmp.Or(msgs, "no detail"))
		case http.StatusNotFound:
			return fmt.Errorf("not found (404)")
		}
		if len(msgs) > 300 {
			msgs = msgs[:300] + "..."
		}
		return fmt.Errorf("answered %d: %s", re.StatusCode, cmp.Or(msgs, http.StatusText(re.StatusCode)))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("timed out")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, ue.URL, ue.Err)
	}
	return err
}
