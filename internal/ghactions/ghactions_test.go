package ghactions

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// parseFileCommands reads NAME<<DELIM heredocs as the GitHub runner does.
func parseFileCommands(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		name, delim, ok := strings.Cut(s.Text(), "<<")
		if !ok {
			t.Fatalf("line %q is not NAME<<DELIMITER", s.Text())
		}
		var lines []string
		for s.Scan() && s.Text() != delim {
			lines = append(lines, s.Text())
		}
		out[name] = strings.Join(lines, "\n")
	}
	return out
}

func TestFileCommandsCannotBeInjected(t *testing.T) {
	secrets := []Value{
		{Name: "A", Value: "line1\nEOF\nB<<EOF\ninjected\nEOF"},
		{Name: "B", Value: "ghadelimiter_00000000000000000000000000000000\nX<<ghadelimiter_1\nvalue"},
		{Name: "C", Value: "plain"},
	}
	data, err := FileCommands(secrets, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := parseFileCommands(t, data)
	if len(got) != 3 {
		t.Fatalf("parsed %d outputs %v, want exactly 3", len(got), got)
	}
	for _, s := range secrets {
		if got[s.Name] != s.Value {
			t.Errorf("output %s = %q, want %q", s.Name, got[s.Name], s.Value)
		}
	}
}

// TestFileCommandsRefusals: names that change how later steps run are
// refused for GITHUB_ENV by family, in any case, unless declared.
func TestFileCommandsRefusals(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  bool
	}{
		{"GITHUB_TOKEN", true}, {"NODE_OPTIONS", true}, {"LD_PRELOAD", true}, {"PATH", true},
		{"LD_AUDIT", true}, {"GCONV_PATH", true}, {"DOTNET_STARTUP_HOOKS", true}, {"PYTHONHOME", true},
		{"PERL5LIB", true}, {"HTTPS_PROXY", true}, {"https_proxy", true}, {"NODE_EXTRA_CA_CERTS", true},
		{"SSL_CERT_FILE", true}, {"NPM_CONFIG_REGISTRY", true}, {"npm_config_registry", true}, {"BASH_ENV", true},
		{"GIT_SSH_COMMAND", true}, {"JAVA_TOOL_OPTIONS", true}, {"RUBYOPT", true}, {"GOFLAGS", true},
		{"DOCKER_HOST", true}, {"KUBECONFIG", true}, {"bad-name", false}, {"1X", false},
	} {
		if _, err := FileCommands([]Value{{Name: tt.name, Value: "v"}}, tt.env, nil); err == nil {
			t.Errorf("FileCommands(%s, env=%v) accepted it", tt.name, tt.env)
		}
	}
	for _, ok := range []string{"DB_PASSWORD", "API_TOKEN", "NPM_TOKEN_X"} {
		if _, err := FileCommands([]Value{{Name: ok, Value: "v"}}, true, nil); err != nil {
			t.Errorf("FileCommands(%s) refused it: %v", ok, err)
		}
	}
	if _, err := FileCommands([]Value{{Name: "NODE_OPTIONS", Value: "v"}}, false, nil); err != nil {
		t.Errorf("an output may be named NODE_OPTIONS: %v", err)
	}
	declared := func(n string) bool { return n == "HTTPS_PROXY" }
	if _, err := FileCommands([]Value{{Name: "HTTPS_PROXY", Value: "v"}}, true, declared); err != nil {
		t.Errorf("a declared HTTPS_PROXY was refused: %v", err)
	}
}

// TestWorkflowCommandsCannotBeInjected: text from file, member and image
// names cannot end an annotation and start another command.
func TestWorkflowCommandsCannotBeInjected(t *testing.T) {
	var b bytes.Buffer
	s := New(&b, func(string) string { return "" })
	s.Annotate(Annotation{Level: "error", File: "a\n::stop-commands::x\r,b:c%", Line: 2, Col: 3, Title: "t\n::add-mask::x",
		Message: "in evil\n::stop-commands::token\n::error::forged"})
	s.AddMask("a%b\r\nc")
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 commands:\n%s", len(lines), b.String())
	}
	want := "::error col=3,file=a%0A::stop-commands::x%0D%2Cb%3Ac%25,line=2,title=t%0A::add-mask::x::in evil%0A::stop-commands::token%0A::error::forged"
	want = strings.ReplaceAll(want, "file=a%0A::stop-commands::x", "file=a%0A%3A%3Astop-commands%3A%3Ax")
	want = strings.ReplaceAll(want, "title=t%0A::add-mask::x", "title=t%0A%3A%3Aadd-mask%3A%3Ax")
	if lines[0] != want {
		t.Errorf("annotation =\n%s\nwant\n%s", lines[0], want)
	}
	if lines[1] != "::add-mask::a%25b%0D%0Ac" {
		t.Errorf("mask = %q, want the runner's escaping", lines[1])
	}
}

// TestStickyError: a failing writer is one error, never a panic.
func TestStickyError(t *testing.T) {
	s := New(failWriter{}, func(string) string { return "" })
	s.AddMask("x")
	s.Annotate(Annotation{Message: "y"})
	if s.Err() == nil {
		t.Error("Err() = nil after a failed write")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestIDToken asks a stand-in for the runner's token service: the audience
// and the bearer pass; a refusal is said without the body it came with.
func TestIDToken(t *testing.T) {
	const request = "request-token"
	var audience string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+request {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"body-marker-7f3a"}`)
			return
		}
		audience = r.URL.Query().Get("audience")
		fmt.Fprint(w, `{"value":"job-token"}`)
	}))
	defer srv.Close()
	env := map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": srv.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": request}
	getenv := func(k string) string { return env[k] }
	if !IDTokenAvailable(getenv) {
		t.Fatal("the runner's variables are set, yet no token is available")
	}
	tok, err := IDToken(context.Background(), getenv, srv.Client(), "https://vault.example")
	if err != nil || tok != "job-token" || audience != "https://vault.example" {
		t.Fatalf("token %q, audience %q, err %v", tok, audience, err)
	}
	env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "wrong"
	_, err = IDToken(context.Background(), getenv, srv.Client(), "")
	if err == nil || !strings.Contains(err.Error(), "id-token: write") || strings.Contains(err.Error(), "body-marker") {
		t.Fatalf("refused: err = %v", err)
	}
	if IDTokenAvailable(func(string) string { return "" }) {
		t.Error("no runner variables, yet a token is available")
	}
}
