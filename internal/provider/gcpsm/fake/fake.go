// Package fake is Google Secret Manager for tests: the generated gRPC
// service (secretmanagerpb.SecretManagerServiceServer) over TLS with a
// certificate for secretmanager.googleapis.com, answering
// AccessSecretVersion (with the payload's CRC32C), GetSecretVersion and
// ListSecrets (paged) as the API reference describes, with bearer tokens
// checked, IAM denials per permission, disabled versions, and throttling
// to inject. Drive it with Google's client through Options.
package fake

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/secretgate/secretgate/internal/fixture"
)

// Version is one version of a secret.
type Version struct {
	Data     []byte
	Created  time.Time
	Disabled bool
}

// Server is the fake service.
type Server struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	// Number is the project's number, which names resources in answers.
	Number string
	token  string // the bearer token calls must carry

	addr  string
	creds credentials.TransportCredentials
	srv   *grpc.Server

	// Federation: the STS accepts SubjectToken for Audience and issues an
	// access token; IAM Credentials then impersonates ServiceAccount.
	Audience, SubjectToken, ServiceAccount string
	sts                                    *httptest.Server
	stsPool                                *x509.CertPool
	issued                                 map[string]bool // tokens STS or IAM issued

	mu       sync.Mutex
	secrets  map[string][]Version // "project/name" -> versions
	denied   map[string]bool      // permission -> denied
	faults   []codes.Code
	badCRC   bool // answer a payload with a wrong checksum
	delay    time.Duration
	accesses int
}

// New starts the service on a loopback port.
func New() *Server {
	cert, pool := fixture.Certificate("secretmanager.googleapis.com")
	s := &Server{
		Number: "123456789012", token: "ya29." + fixture.Password(80, 40),
		secrets: map[string][]Version{}, denied: map[string]bool{},
		creds: credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "secretmanager.googleapis.com", MinVersion: tls.VersionTLS12}),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s.addr = l.Addr().String()
	s.srv = grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	secretmanagerpb.RegisterSecretManagerServiceServer(s.srv, s)
	go func() { _ = s.srv.Serve(l) }()
	stsCert, stsPool := fixture.Certificate("sts.googleapis.com", "iamcredentials.googleapis.com")
	s.issued, s.stsPool = map[string]bool{}, stsPool
	s.sts = httptest.NewUnstartedServer(http.HandlerFunc(s.exchange))
	s.sts.TLS = &tls.Config{Certificates: []tls.Certificate{stsCert}}
	s.sts.StartTLS()
	return s
}

// Close stops the service.
func (s *Server) Close() {
	s.srv.Stop()
	s.sts.Close()
}

// Endpoint points Google's client at the service with no credentials of
// its own: they come from federation.
func (s *Server) Endpoint() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(s.addr), option.WithGRPCDialOption(grpc.WithTransportCredentials(s.creds))}
}

// STSClient reaches the token exchange and impersonation endpoints
// whatever the host, trusting only their certificate.
func (s *Server) STSClient() *http.Client {
	addr := s.sts.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: s.stsPool, MinVersion: tls.VersionTLS12},
	}}
}

// exchange is Google's STS (RFC 8693 token exchange) and IAM Credentials'
// generateAccessToken, as the external account flow calls them.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	token := func() string {
		t := "ya29.fed-" + fixture.Password(uint64(len(s.issued))+100, 30)
		s.issued[t] = true
		return t
	}
	switch {
	case r.Host == "sts.googleapis.com" && r.URL.Path == "/v1/token" && r.Method == http.MethodPost:
		if err := r.ParseForm(); err != nil {
			jsonReply(w, 400, map[string]any{"error": "invalid_request"})
			return
		}
		f := r.PostForm
		switch {
		case f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" || f.Get("subject_token_type") != "urn:ietf:params:oauth:token-type:jwt":
			jsonReply(w, 400, map[string]any{"error": "invalid_request", "error_description": "unsupported grant or subject token type"})
		case f.Get("audience") != s.Audience:
			jsonReply(w, 400, map[string]any{"error": "invalid_target", "error_description": "The target service indicated by the \"audience\" parameters is invalid."})
		case f.Get("subject_token") != s.SubjectToken:
			jsonReply(w, 400, map[string]any{"error": "invalid_grant", "error_description": "The audience in ID Token does not match the expected audience."})
		default:
			jsonReply(w, 200, map[string]any{"access_token": token(), "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_type": "Bearer", "expires_in": 3600})
		}
	case r.Host == "iamcredentials.googleapis.com" && r.Method == http.MethodPost &&
		r.URL.Path == "/v1/projects/-/serviceAccounts/"+s.ServiceAccount+":generateAccessToken":
		if !s.issued[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
			jsonReply(w, 401, map[string]any{"error": map[string]any{"code": 401, "status": "UNAUTHENTICATED"}})
			return
		}
		jsonReply(w, 200, map[string]any{"accessToken": token(), "expireTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	default:
		jsonReply(w, 404, map[string]any{"error": map[string]any{"code": 404, "status": "NOT_FOUND"}})
	}
}

func jsonReply(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// Options point Google's client at the service, with its token.
func (s *Server) Options() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.addr),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.token, TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)})),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(s.creds)),
	}
}

// Revoke makes the service refuse the token Options gives.
func (s *Server) Revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = "ya29." + fixture.Password(81, 40)
}

// Put adds a version to a secret of a project.
func (s *Server) Put(project, name string, v Version) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Created.IsZero() {
		v.Created = time.Now()
	}
	s.secrets[project+"/"+name] = append(s.secrets[project+"/"+name], v)
}

// Deny makes every call needing permission fail with PermissionDenied.
func (s *Server) Deny(permission string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[permission] = true
}

// Fail makes the next calls fail with these codes.
func (s *Server) Fail(codes ...codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, codes...)
}

// Corrupt makes payloads arrive with a checksum that does not match.
func (s *Server) Corrupt(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badCRC = on
}

// Accesses is how many AccessSecretVersion calls came.
func (s *Server) Accesses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accesses
}

// Slow holds every answer back this long.
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// check applies delays, authentication, injected faults and IAM.
func (s *Server) check(ctx context.Context, permission, resource string) error {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if a := md.Get("authorization"); len(a) != 1 || a[0] != "Bearer "+s.token && !s.issued[strings.TrimPrefix(a[0], "Bearer ")] {
		return status.Error(codes.Unauthenticated, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")
	}
	if len(s.faults) > 0 {
		c := s.faults[0]
		s.faults = s.faults[1:]
		return status.Error(c, "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute'")
	}
	if s.denied[permission] {
		return status.Errorf(codes.PermissionDenied, "Permission '%s' denied for resource '%s' (or it may not exist).", permission, resource)
	}
	return nil
}

// version finds projects/P/secrets/S/versions/V.
func (s *Server) version(name string) (string, int, Version, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "secrets" || parts[4] != "versions" {
		return "", 0, Version{}, status.Errorf(codes.InvalidArgument, "Invalid resource field value in the request.")
	}
	project := parts[1]
	if project == s.Number {
		for k := range s.secrets {
			p, _, _ := strings.Cut(k, "/")
			project = p // a project number names the one project here
		}
	}
	versions := s.secrets[project+"/"+parts[3]]
	if len(versions) == 0 {
		return "", 0, Version{}, status.Errorf(codes.NotFound, "Secret [projects/%s/secrets/%s] not found or has no versions.", s.Number, parts[3])
	}
	n := len(versions)
	if parts[5] != "latest" {
		var err error
		if n, err = strconv.Atoi(parts[5]); err != nil || n < 1 || n > len(versions) {
			return "", 0, Version{}, status.Errorf(codes.NotFound, "Secret Version [projects/%s/secrets/%s/versions/%s] not found.", s.Number, parts[3], parts[5])
		}
	}
	return fmt.Sprintf("projects/%s/secrets/%s/versions/%d", s.Number, parts[3], n), n, versions[n-1], nil
}

// AccessSecretVersion implements the service.
func (s *Server) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accesses++
	if err := s.check(ctx, "secretmanager.versions.access", req.GetName()); err != nil {
		return nil, err
	}
	name, _, v, err := s.version(req.GetName())
	if err != nil {
		return nil, err
	}
	if v.Disabled {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DISABLED state.", name)
	}
	sum := int64(crc32.Checksum(v.Data, crc32.MakeTable(crc32.Castagnoli)))
	if s.badCRC {
		sum++
	}
	return &secretmanagerpb.AccessSecretVersionResponse{Name: name, Payload: &secretmanagerpb.SecretPayload{Data: v.Data, DataCrc32C: &sum}}, nil
}

// GetSecretVersion implements the service.
func (s *Server) GetSecretVersion(ctx context.Context, req *secretmanagerpb.GetSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, "secretmanager.versions.get", req.GetName()); err != nil {
		return nil, err
	}
	name, _, v, err := s.version(req.GetName())
	if err != nil {
		return nil, err
	}
	state := secretmanagerpb.SecretVersion_ENABLED
	if v.Disabled {
		state = secretmanagerpb.SecretVersion_DISABLED
	}
	return &secretmanagerpb.SecretVersion{Name: name, CreateTime: timestamppb.New(v.Created), State: state}, nil
}

// ListSecrets implements the service: two a page, with a page token.
func (s *Server) ListSecrets(ctx context.Context, req *secretmanagerpb.ListSecretsRequest) (*secretmanagerpb.ListSecretsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(ctx, "secretmanager.secrets.list", req.GetParent()); err != nil {
		return nil, err
	}
	project := strings.TrimPrefix(req.GetParent(), "projects/")
	var names []string
	for k := range s.secrets {
		if p, n, _ := strings.Cut(k, "/"); p == project {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	skip, _ := strconv.Atoi(req.GetPageToken())
	resp := &secretmanagerpb.ListSecretsResponse{TotalSize: int32(len(names))}
	for _, n := range names[min(skip, len(names)):min(skip+2, len(names))] {
		resp.Secrets = append(resp.Secrets, &secretmanagerpb.Secret{Name: fmt.Sprintf("projects/%s/secrets/%s", s.Number, n)})
	}
	if skip+2 < len(names) {
		resp.NextPageToken = strconv.Itoa(skip + 2)
	}
	return resp, nil
}
