// Package fake is an AWS Secrets Manager endpoint for tests: the AWS JSON
// 1.1 protocol (X-Amz-Target, __type errors) for GetSecretValue,
// BatchGetSecretValue and ListSecrets, with SigV4 checked to be present and
// scoped to the region, and faults to inject. Point the real SDK at it with
// AWS_ENDPOINT_URL_SECRETS_MANAGER.
package fake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/secretgate/secretgate/internal/fixture"
)

// Secret is a stored secret: a string or binary value.
type Secret struct {
	Name    string
	String  string
	Binary  []byte
	Version string
	Stages  []string
	Created time.Time // of this version; 2023-11-14 when zero
	// Previous is the value staged AWSPREVIOUS ("" for none).
	Previous string
}

// Server is the fake endpoint. Set its fields before use; Faults may change
// between calls.
type Server struct {
	*httptest.Server
	Region string

	mu      sync.Mutex
	secrets map[string]Secret
	calls   []string
	faults  map[string][]Fault
}

// Fault makes one call of an action fail (or be slow).
type Fault struct {
	Status int    // HTTP status, e.g. 400, 500
	Type   string // __type, e.g. ThrottlingException
	Delay  time.Duration
}

// Env is the environment that points the real AWS SDK at s, with
// throw-away credentials and no profile, metadata service or shared
// files: NAME=VALUE pairs, as exec.Cmd.Env and `--variable` flags take.
func Env(s *Server) []string {
	return []string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + s.URL, "AWS_REGION=" + s.Region,
		"AWS_ACCESS_KEY_ID=" + fixture.AWSAccessKeyID(90), "AWS_SECRET_ACCESS_KEY=" + fixture.Password(91, 40),
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_PROFILE=",
	}
}

// New starts a server in region holding secrets.
func New(region string, secrets ...Secret) *Server {
	s := &Server{Region: region, secrets: map[string]Secret{}, faults: map[string][]Fault{}}
	for _, sec := range secrets {
		s.Put(sec)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Put stores a secret.
func (s *Server) Put(sec Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec.Version == "" {
		sec.Version = "v1-" + strings.ReplaceAll(sec.Name, "/", "-")
	}
	if sec.Stages == nil {
		sec.Stages = []string{"AWSCURRENT"}
	}
	s.secrets[sec.Name] = sec
}

// Inject queues faults for an action ("GetSecretValue", ...): each call
// takes the next one until they are used up.
func (s *Server) Inject(action string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], faults...)
}

// Calls returns the actions called so far, in order.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// ARN returns a secret's ARN in the aws partition.
func (s *Server) ARN(name string) string {
	return fmt.Sprintf("arn:aws:secretsmanager:%s:123456789012:secret:%s-AbCdEf", s.Region, name)
}

func (s *Server) lookup(id string) (Secret, bool) {
	if sec, ok := s.secrets[id]; ok {
		return sec, true
	}
	for _, sec := range s.secrets {
		if s.ARN(sec.Name) == id {
			return sec, true
		}
	}
	return Secret{}, false
}

func (s *Server) fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/"+s.Region+"/secretsmanager/aws4_request") {
		s.fail(w, 403, "InvalidSignatureException", "missing or mis-scoped SigV4 signature")
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, action)
	var fault *Fault
	if q := s.faults[action]; len(q) > 0 {
		fault, s.faults[action] = &q[0], q[1:]
	}
	s.mu.Unlock()
	if fault != nil {
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if fault.Status != 0 {
			s.fail(w, fault.Status, fault.Type, "injected fault")
			return
		}
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		s.fail(w, 400, "SerializationException", "bad JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch action {
	case "GetSecretValue":
		id, _ := in["SecretId"].(string)
		sec, ok := s.lookup(id)
		if !ok {
			s.fail(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
			return
		}
		if st, _ := in["VersionStage"].(string); st == "AWSPREVIOUS" {
			if sec.Previous == "" {
				s.fail(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS")
				return
			}
			sec = Secret{Name: sec.Name, String: sec.Previous, Version: sec.Version + "-previous", Stages: []string{"AWSPREVIOUS"}}
		}
		if v, _ := in["VersionId"].(string); v != "" && v != sec.Version {
			s.fail(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId")
			return
		}
		json.NewEncoder(w).Encode(s.entry(sec))
	case "BatchGetSecretValue":
		ids, _ := in["SecretIdList"].([]any)
		if len(ids) > 20 {
			s.fail(w, 400, "InvalidParameterException", "more than 20 ids")
			return
		}
		out := map[string]any{"SecretValues": []any{}, "Errors": []any{}}
		for _, x := range ids {
			id, _ := x.(string)
			if sec, ok := s.lookup(id); ok {
				out["SecretValues"] = append(out["SecretValues"].([]any), s.entry(sec))
			} else {
				out["Errors"] = append(out["Errors"].([]any), map[string]string{
					"SecretId": id, "ErrorCode": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret.",
				})
			}
		}
		json.NewEncoder(w).Encode(out)
	case "ListSecrets":
		var prefix string
		if fs, _ := in["Filters"].([]any); len(fs) > 0 {
			f, _ := fs[0].(map[string]any)
			if vs, _ := f["Values"].([]any); len(vs) > 0 {
				prefix, _ = vs[0].(string)
			}
		}
		var names []string
		for name := range s.secrets {
			if strings.HasPrefix(name, prefix) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		// Pages of 2, so that tests see pagination.
		start := 0
		if tok, _ := in["NextToken"].(string); tok != "" {
			fmt.Sscanf(tok, "page-%d", &start)
		}
		end := min(start+2, len(names))
		list := []any{}
		for _, n := range names[start:end] {
			list = append(list, map[string]string{"Name": n, "ARN": s.ARN(n)})
		}
		out := map[string]any{"SecretList": list}
		if end < len(names) {
			out["NextToken"] = fmt.Sprintf("page-%d", end)
		}
		json.NewEncoder(w).Encode(out)
	default:
		s.fail(w, 400, "UnknownOperationException", action)
	}
}

func (s *Server) entry(sec Secret) map[string]any {
	e := map[string]any{
		"ARN": s.ARN(sec.Name), "Name": sec.Name, "VersionId": sec.Version, "VersionStages": sec.Stages,
		"CreatedDate": 1.7e9,
	}
	if !sec.Created.IsZero() {
		e["CreatedDate"] = float64(sec.Created.UnixMilli()) / 1000
	}
	if sec.Binary != nil {
		e["SecretBinary"] = base64.StdEncoding.EncodeToString(sec.Binary)
	} else {
		e["SecretString"] = sec.String
	}
	return e
}
