// Package fake is Azure Key Vault and Entra ID for tests, over TLS with a
// certificate for *.vault.azure.net and login.microsoftonline.com, written
// from Key Vault's REST reference: the bearer challenge (401 with
// WWW-Authenticate naming the tenant and resource), get secret (latest or
// a version), list secrets, errors as Key Vault words them (403
// ForbiddenByRbac and SecretDisabled, 404 SecretNotFound, 429 with
// Retry-After); and Entra ID's discovery and token endpoints for a
// federated client assertion. Drive it with azsecrets and azidentity
// through Client, which reaches it whatever the host.
package fake

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/secretgate/secretgate/internal/fixture"
)

// Version is one version of a secret.
type Version struct {
	Value    string
	Created  time.Time
	Disabled bool
	id       string
}

// Server is the fake. Set its fields before the first request.
type Server struct {
	*httptest.Server
	Tenant string
	// ClientID and Assertion are the federated credential Entra ID accepts:
	// a token request for ClientID must carry Assertion.
	ClientID, Assertion string
	// Delay holds every Key Vault answer back this long.
	Delay time.Duration

	pool   *x509.CertPool
	mu     sync.Mutex
	vaults map[string]map[string][]Version // vault -> name -> versions
	denied map[string]bool                 // "vault/name"
	tokens map[string]bool                 // access tokens issued
	faults map[string][]int                // "vault/name" -> statuses
	calls  []string
	// Scopes are the scopes asked of the token endpoint.
	Scopes []string
}

// New starts a server for tenant.
func New(tenant string) *Server {
	s := &Server{
		Tenant: tenant, vaults: map[string]map[string][]Version{}, denied: map[string]bool{},
		tokens: map[string]bool{}, faults: map[string][]int{},
	}
	cert, pool := fixture.Certificate("*.vault.azure.net", "login.microsoftonline.com", "login.microsoft.com")
	s.pool = pool
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	return s
}

// Client reaches this server for every host name, over TLS that trusts
// only its certificate.
func (s *Server) Client() *http.Client {
	addr := s.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12},
	}}
}

// Put adds a version to a secret; it becomes the latest.
func (s *Server) Put(vault, name string, v Version) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vaults[vault] == nil {
		s.vaults[vault] = map[string][]Version{}
	}
	if v.Created.IsZero() {
		v.Created = time.Now()
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	v.id = hex.EncodeToString(b)
	s.vaults[vault][name] = append(s.vaults[vault][name], v)
	return v.id
}

// Deny makes the identity lack access to a secret (RBAC).
func (s *Server) Deny(vault, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[vault+"/"+name] = true
}

// Fail makes the next requests for a secret (or "" for lists) answer these
// statuses.
func (s *Server) Fail(vault, name string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[vault+"/"+name] = append(s.faults[vault+"/"+name], statuses...)
}

// Token issues an access token the vault accepts, as Entra ID would.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issue()
}

func (s *Server) issue() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	t := "eyJ0eXAi." + hex.EncodeToString(b)
	s.tokens[t] = true
	return t
}

// Calls returns "HOST METHOD PATH" of each request so far.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	host, _, _ := strings.Cut(r.Host, ":")
	s.calls = append(s.calls, host+" "+r.Method+" "+r.URL.Path)
	if host == "login.microsoftonline.com" || host == "login.microsoft.com" {
		s.entra(w, r)
		return
	}
	vault, ok := strings.CutSuffix(host, ".vault.azure.net")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.URL.Query().Get("api-version") == "" {
		fail(w, 400, "BadParameter", "The 'api-version' query parameter is missing.", "")
		return
	}
	auth := r.Header.Get("Authorization")
	if !s.tokens[strings.TrimPrefix(auth, "Bearer ")] {
		// The challenge: where to get a token, and for what.
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="https://login.microsoftonline.com/%s", resource="https://vault.azure.net"`, s.Tenant))
		fail(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", "")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if parts[0] != "secrets" || r.Method != http.MethodGet {
		fail(w, 400, "BadParameter", "unsupported", "")
		return
	}
	name := ""
	if len(parts) > 1 {
		name = parts[1]
	}
	if f := s.faults[vault+"/"+name]; len(f) > 0 {
		s.faults[vault+"/"+name] = f[1:]
		if f[0] == 429 {
			w.Header().Set("Retry-After", "0")
		}
		fail(w, f[0], http.StatusText(f[0]), "injected", "")
		return
	}
	if name == "" {
		s.list(w, r, vault)
		return
	}
	if s.denied[vault+"/"+name] {
		fail(w, 403, "Forbidden", fmt.Sprintf("Caller is not authorized to perform action on resource. If role assignments were recently changed, please wait several minutes for role assignments to become effective. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action' Resource: '/subscriptions/x/resourcegroups/y/providers/microsoft.keyvault/vaults/%s/secrets/%s'", vault, name), "ForbiddenByRbac")
		return
	}
	versions := s.vaults[vault][name]
	if len(versions) == 0 {
		fail(w, 404, "SecretNotFound", fmt.Sprintf("A secret with (name/id) %s was not found in this key vault.", name), "")
		return
	}
	if len(parts) == 3 && parts[2] == "versions" {
		page := []any{}
		for _, v := range versions {
			page = append(page, map[string]any{
				"id": fmt.Sprintf("https://%s/secrets/%s/%s", host, name, v.id), "attributes": attributes(v),
			})
		}
		reply(w, 200, map[string]any{"value": page, "nextLink": nil})
		return
	}
	v := versions[len(versions)-1]
	if len(parts) > 2 && parts[2] != "" {
		i := slices.IndexFunc(versions, func(v Version) bool { return v.id == parts[2] })
		if i < 0 {
			fail(w, 404, "SecretNotFound", fmt.Sprintf("A secret with (name/id) %s/%s was not found in this key vault.", name, parts[2]), "")
			return
		}
		v = versions[i]
	}
	if v.Disabled {
		fail(w, 403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled")
		return
	}
	reply(w, 200, map[string]any{
		"value": v.Value, "id": fmt.Sprintf("https://%s/secrets/%s/%s", host, name, v.id),
		"attributes": attributes(v),
	})
}

func attributes(v Version) map[string]any {
	return map[string]any{
		"enabled": !v.Disabled, "created": v.Created.Unix(), "updated": v.Created.Unix(),
		"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90,
	}
}

// list answers two secrets a page, with a nextLink to the rest.
func (s *Server) list(w http.ResponseWriter, r *http.Request, vault string) {
	names := make([]string, 0, len(s.vaults[vault]))
	for n := range s.vaults[vault] {
		names = append(names, n)
	}
	sort.Strings(names)
	skip, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
	page := []any{}
	for _, n := range names[min(skip, len(names)):min(skip+2, len(names))] {
		vs := s.vaults[vault][n]
		page = append(page, map[string]any{
			"id": fmt.Sprintf("https://%s.vault.azure.net/secrets/%s", vault, n), "attributes": attributes(vs[len(vs)-1]),
		})
	}
	var next any
	if skip+2 < len(names) {
		next = fmt.Sprintf("https://%s.vault.azure.net/secrets?api-version=%s&$skiptoken=%d", vault, r.URL.Query().Get("api-version"), skip+2)
	}
	reply(w, 200, map[string]any{"value": page, "nextLink": next})
}

// entra is Entra ID: instance and tenant discovery, and the token
// endpoint taking a federated client assertion.
func (s *Server) entra(w http.ResponseWriter, r *http.Request) {
	base := "https://login.microsoftonline.com/" + s.Tenant
	switch {
	case r.URL.Path == "/common/discovery/instance":
		reply(w, 200, map[string]any{
			"tenant_discovery_endpoint": base + "/v2.0/.well-known/openid-configuration", "api-version": "1.1",
			"metadata": []any{map[string]any{"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
				"aliases": []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com"}}},
		})
	case r.URL.Path == "/"+s.Tenant+"/v2.0/.well-known/openid-configuration":
		reply(w, 200, map[string]any{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize", "token_endpoint": base + "/oauth2/v2.0/token",
			"issuer": "https://login.microsoftonline.com/" + s.Tenant + "/v2.0",
		})
	case r.URL.Path == "/"+s.Tenant+"/oauth2/v2.0/token" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			reply(w, 400, map[string]any{"error": "invalid_request"})
			return
		}
		f := r.PostForm
		s.Scopes = append(s.Scopes, f.Get("scope"))
		switch {
		case f.Get("grant_type") != "client_credentials" || f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
			reply(w, 400, map[string]any{"error": "unsupported_grant_type"})
		case f.Get("client_id") != s.ClientID:
			reply(w, 400, map[string]any{"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found in the directory."})
		case f.Get("client_assertion") != s.Assertion:
			reply(w, 400, map[string]any{"error": "invalid_client", "error_description": "AADSTS70021: No matching federated identity record found for presented assertion."})
		default:
			reply(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": s.issue()})
		}
	default:
		http.NotFound(w, r)
	}
}

func fail(w http.ResponseWriter, status int, code, msg, inner string) {
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]any{"code": inner}
	}
	reply(w, status, map[string]any{"error": e})
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
