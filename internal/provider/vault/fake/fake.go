// Package fake is a Vault server for tests, written from Vault's HTTP API
// documentation for the endpoints secretgate uses: KV v2 reads (with
// ?version), metadata and lists, KV v1 reads and lists, the mount
// lookup the vault CLI makes (sys/internal/ui/mounts), logins with the
// JWT, AppRole and Kubernetes methods, token self-revocation, ACL checks
// with 403s as Vault words them, namespaces, and faults to inject. Drive
// it with Vault's own API client.
package fake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is one version of a KV v2 secret.
type Version struct {
	Data    map[string]any
	Created time.Time
	Deleted bool
}

// Role is a login role of the JWT or Kubernetes method.
type Role struct {
	Policy   []string // API paths granted: exact, or a prefix ending in *
	Audience string   // bound audience (jwt): the token's aud must hold it
	Subject  string   // bound subject (jwt), "" for any
	SAToken  string   // the service account token it accepts (kubernetes)
}

// Server is the fake Vault. Set its fields before the first request.
type Server struct {
	*httptest.Server
	Namespace string // requests must name it in X-Vault-Namespace
	// Delay holds every answer back this long (for timeouts).
	Delay time.Duration

	// JWTKey signs job tokens (Sign); the jwt method trusts its public key.
	JWTKey *rsa.PrivateKey

	mu       sync.Mutex
	kv2      map[string]map[string][]Version // mount -> path -> versions
	kv1      map[string]map[string]map[string]any
	tokens   map[string][]string // token -> policy
	roles    map[string]Role     // "method/role" -> role
	approles map[string]approle  // role_id -> its secret_id and policy
	calls    []string
	faults   map[string][]int // path -> statuses to answer next
}

type approle struct {
	secretID string
	policy   []string
}

// New starts a server with a KV v2 engine at secret/ and a KV v1 engine at
// kv/.
func New() *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s := &Server{
		JWTKey:   key,
		kv2:      map[string]map[string][]Version{"secret/": {}},
		kv1:      map[string]map[string]map[string]any{"kv/": {}},
		tokens:   map[string][]string{},
		roles:    map[string]Role{},
		approles: map[string]approle{},
		faults:   map[string][]int{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// PutV2 adds a version to a KV v2 secret (mount "secret/").
func (s *Server) PutV2(mount, path string, v Version) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv2[mount] == nil {
		s.kv2[mount] = map[string][]Version{}
	}
	if v.Created.IsZero() {
		v.Created = time.Now()
	}
	s.kv2[mount][path] = append(s.kv2[mount][path], v)
}

// PutV1 sets a KV v1 secret.
func (s *Server) PutV1(mount, path string, data map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kv1[mount] == nil {
		s.kv1[mount] = map[string]map[string]any{}
	}
	s.kv1[mount][path] = data
}

// Token makes a token with a policy: the API paths it may read and list.
func (s *Server) Token(policy ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := "hvs." + randomHex(12)
	s.tokens[t] = policy
	return t
}

// Valid reports whether a token still exists (it was not revoked).
func (s *Server) Valid(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.tokens[token]
	return ok
}

// Tokens is how many tokens exist.
func (s *Server) Tokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

// Role adds a role to the jwt or kubernetes method mounted at mount.
func (s *Server) Role(mount, name string, r Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles[mount+"/"+name] = r
}

// AppRole adds an AppRole role and returns its role_id and secret_id.
func (s *Server) AppRole(policy ...string) (roleID, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	roleID, secretID = randomHex(8), randomHex(16)
	s.approles[roleID] = approle{secretID: secretID, policy: policy}
	return roleID, secretID
}

// Fail makes the next requests to an API path answer these statuses.
func (s *Server) Fail(path string, statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], statuses...)
}

// Calls returns "METHOD path" of every request so far.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Sign makes a job token as a CI system would: RS256 over claims.
func (s *Server) Sign(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.JWTKey, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	method := r.Method
	if method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		method = "LIST"
		if !strings.HasSuffix(path, "/") {
			path += "/" // Vault lists folders, and checks the ACL so
		}
	}
	s.calls = append(s.calls, method+" "+path)
	if s.Delay > 0 {
		select {
		case <-time.After(s.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f := s.faults[path]; len(f) > 0 {
		s.faults[path] = f[1:]
		reply(w, f[0], map[string]any{"errors": []string{http.StatusText(f[0])}})
		return
	}
	if s.Namespace != "" && strings.Trim(r.Header.Get("X-Vault-Namespace"), "/") != s.Namespace {
		deny(w)
		return
	}
	if strings.HasPrefix(path, "auth/") && strings.HasSuffix(path, "/login") && (method == http.MethodPost || method == http.MethodPut) {
		s.login(w, r, strings.TrimSuffix(strings.TrimPrefix(path, "auth/"), "/login"))
		return
	}
	token := r.Header.Get("X-Vault-Token")
	policy, ok := s.tokens[token]
	if !ok {
		deny(w)
		return
	}
	switch {
	case path == "auth/token/revoke-self" && (method == http.MethodPost || method == http.MethodPut):
		delete(s.tokens, token)
		w.WriteHeader(http.StatusNoContent)
		return
	case strings.HasPrefix(path, "sys/internal/ui/mounts/"):
		// Vault answers when the token may do anything on the mount.
		p := strings.TrimPrefix(path, "sys/internal/ui/mounts/")
		for m := range s.kv2 {
			if strings.HasPrefix(p+"/", m) && onMount(policy, m) {
				reply(w, 200, map[string]any{"data": map[string]any{"path": s.nsPath(m), "type": "kv", "options": map[string]any{"version": "2"}}})
				return
			}
		}
		for m := range s.kv1 {
			if strings.HasPrefix(p+"/", m) && onMount(policy, m) {
				reply(w, 200, map[string]any{"data": map[string]any{"path": s.nsPath(m), "type": "kv", "options": nil}})
				return
			}
		}
		deny(w)
		return
	}
	if !allowed(policy, path) {
		deny(w)
		return
	}
	for m, secrets := range s.kv2 {
		switch {
		case strings.HasPrefix(path, m+"data/") && method == http.MethodGet:
			s.readV2(w, r, secrets, strings.TrimPrefix(path, m+"data/"))
			return
		case strings.HasPrefix(path, m+"metadata/") && method == "LIST":
			list(w, slices.Collect(mapKeys(secrets)), strings.TrimPrefix(path, m+"metadata/"))
			return
		case strings.HasPrefix(path, m+"metadata/") && method == http.MethodGet:
			s.metadata(w, secrets, strings.TrimPrefix(path, m+"metadata/"))
			return
		}
	}
	for m, secrets := range s.kv1 {
		if !strings.HasPrefix(path, m) {
			continue
		}
		p := strings.TrimPrefix(path, m)
		if method == "LIST" {
			list(w, slices.Collect(mapKeys(secrets)), p)
			return
		}
		if data, ok := secrets[p]; ok && method == http.MethodGet {
			reply(w, 200, map[string]any{"data": data, "lease_duration": 2764800})
			return
		}
		reply(w, 404, map[string]any{"errors": []string{}})
		return
	}
	reply(w, 404, map[string]any{"errors": []string{"no handler for route \"" + path + "\". route entry not found."}})
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *Server) readV2(w http.ResponseWriter, r *http.Request, secrets map[string][]Version, p string) {
	versions := secrets[p]
	if len(versions) == 0 {
		reply(w, 404, map[string]any{"errors": []string{}})
		return
	}
	n := len(versions)
	if q := r.URL.Query().Get("version"); q != "" && q != "0" {
		var err error
		if n, err = strconv.Atoi(q); err != nil || n < 1 || n > len(versions) {
			reply(w, 404, map[string]any{"errors": []string{}})
			return
		}
	}
	v := versions[n-1]
	meta := map[string]any{"created_time": v.Created.UTC().Format(time.RFC3339Nano), "deletion_time": "", "destroyed": false, "version": n, "custom_metadata": nil}
	if v.Deleted {
		// As Vault does: 404, with the metadata and no data.
		meta["deletion_time"] = v.Created.Add(time.Hour).UTC().Format(time.RFC3339Nano)
		reply(w, 404, map[string]any{"data": map[string]any{"data": nil, "metadata": meta}})
		return
	}
	reply(w, 200, map[string]any{"data": map[string]any{"data": v.Data, "metadata": meta}})
}

func (s *Server) metadata(w http.ResponseWriter, secrets map[string][]Version, p string) {
	versions := secrets[p]
	if len(versions) == 0 {
		reply(w, 404, map[string]any{"errors": []string{}})
		return
	}
	vs := map[string]any{}
	for i, v := range versions {
		d := ""
		if v.Deleted {
			d = v.Created.Add(time.Hour).UTC().Format(time.RFC3339Nano)
		}
		vs[strconv.Itoa(i+1)] = map[string]any{"created_time": v.Created.UTC().Format(time.RFC3339Nano), "deletion_time": d, "destroyed": false}
	}
	reply(w, 200, map[string]any{"data": map[string]any{
		"current_version": len(versions), "oldest_version": 1, "versions": vs,
		"created_time": versions[0].Created.UTC().Format(time.RFC3339Nano),
	}})
}

// list answers a LIST of a folder: the names and subfolders directly in it.
func list(w http.ResponseWriter, paths []string, folder string) {
	if folder != "" && !strings.HasSuffix(folder, "/") {
		folder += "/"
	}
	seen := map[string]bool{}
	var keys []string
	for _, p := range paths {
		if !strings.HasPrefix(p, folder) {
			continue
		}
		k := strings.TrimPrefix(p, folder)
		if i := strings.Index(k, "/"); i >= 0 {
			k = k[:i+1]
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		reply(w, 404, map[string]any{"errors": []string{}})
		return
	}
	sort.Strings(keys)
	reply(w, 200, map[string]any{"data": map[string]any{"keys": keys}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, mount string) {
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		reply(w, 400, map[string]any{"errors": []string{"failed to parse JSON input"}})
		return
	}
	var policy []string
	switch {
	case body["role_id"] != "":
		a, ok := s.approles[body["role_id"]]
		if !ok || a.secretID != body["secret_id"] {
			reply(w, 400, map[string]any{"errors": []string{"invalid role or secret ID"}})
			return
		}
		policy = a.policy
	default:
		role, ok := s.roles[mount+"/"+body["role"]]
		if !ok {
			reply(w, 400, map[string]any{"errors": []string{fmt.Sprintf("role %q could not be found", body["role"])}})
			return
		}
		if role.SAToken != "" {
			if body["jwt"] != role.SAToken {
				reply(w, 403, map[string]any{"errors": []string{"permission denied"}})
				return
			}
		} else if msg := s.verify(body["jwt"], role); msg != "" {
			reply(w, 400, map[string]any{"errors": []string{msg}})
			return
		}
		policy = role.Policy
	}
	t := "hvs." + randomHex(12)
	s.tokens[t] = policy
	reply(w, 200, map[string]any{"auth": map[string]any{"client_token": t, "policies": []string{"default"}, "lease_duration": 600, "renewable": true}})
}

// verify checks a job token as the jwt method does: signature, expiry,
// bound audience and subject. It returns Vault's message, or "".
func (s *Server) verify(jwt string, role Role) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "error validating token: malformed token"
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&s.JWTKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "error validating token: failed to verify id token signature"
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Aud any    `json:"aud"`
		Sub string `json:"sub"`
		Exp int64  `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return "error validating token: malformed claims"
	}
	if claims.Exp < time.Now().Unix() {
		return "error validating token: token is expired"
	}
	auds := []string{}
	switch a := claims.Aud.(type) {
	case string:
		auds = append(auds, a)
	case []any:
		for _, x := range a {
			if x, ok := x.(string); ok {
				auds = append(auds, x)
			}
		}
	}
	if role.Audience != "" && !slices.Contains(auds, role.Audience) {
		return "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience"
	}
	if role.Subject != "" && claims.Sub != role.Subject {
		return "error validating claims: claim \"sub\" does not match any associated bound claim values"
	}
	return ""
}

// allowed applies a policy: exact paths, or prefixes ending in *.
func allowed(policy []string, path string) bool {
	for _, p := range policy {
		if p == path || strings.HasSuffix(p, "*") && strings.HasPrefix(path, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

// nsPath is a mount's path as the mounts lookup gives it inside a
// namespace: the namespace first.
func (s *Server) nsPath(mount string) string {
	if s.Namespace == "" {
		return mount
	}
	return s.Namespace + "/" + mount
}

// onMount reports whether a policy grants anything on a mount.
func onMount(policy []string, mount string) bool {
	for _, p := range policy {
		if strings.HasPrefix(p, mount) {
			return true
		}
	}
	return false
}

func deny(w http.ResponseWriter) {
	reply(w, 403, map[string]any{"errors": []string{"1 error occurred:\n\t* permission denied\n\n"}})
}

func reply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Runner is GitHub's token service as a job sees it through
// ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN: it signs a job token for the
// audience asked (the owner's URL when none is) with s's key.
func (s *Server) Runner(requestToken, subject string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+requestToken {
			reply(w, 401, map[string]any{"message": "bad credentials"})
			return
		}
		aud := r.URL.Query().Get("audience")
		if aud == "" {
			aud = "https://github.com/acme"
		}
		reply(w, 200, map[string]any{"value": s.Sign(map[string]any{
			"aud": aud, "sub": subject, "iss": "https://token.actions.githubusercontent.com",
			"exp": time.Now().Add(5 * time.Minute).Unix(),
		})})
	}))
}
