package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider/awssm/fake"
	vaultfake "github.com/secretgate/secretgate/internal/provider/vault/fake"
	"github.com/secretgate/secretgate/scanner/known"
)

// TestErrorsNeverHoldValues drives the error paths of reference parsing,
// resolution, fetch and helm with a distinctive value placed where a user
// or a document puts it by mistake, and checks that no form of it (raw,
// base64, hex, URL, JSON, ...) reaches standard output, standard error or
// the exit status's message.
func TestErrorsNeverHoldValues(t *testing.T) {
	value := fixture.Password(4242, 22)
	dir := t.TempDir()
	put := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	specs := put("secrets.txt", "# the value pasted where a reference belongs\nDB_PASSWORD="+value+"\n")
	anchor := put("anchor.yaml", "password: *"+value+"\n")
	badYAML := put("bad.yaml", "password: \""+value+"\n  - [\n")
	badJSON := put("bad.json", `{"password": "`+value+`", `)
	doc := put("doc.yaml", "password: "+value+"\n")
	existing := put("existing.env", "")
	values := put("values.yaml", "db:\n  token: ref+envsubst://$X\n  password: \""+value+"\n  - [\n")

	srv := fake.New("eu-west-1",
		fake.Secret{Name: "plain", String: value},
		fake.Secret{Name: "json", String: `{"password":"` + value + `"}`},
	)
	defer srv.Close()
	for _, kv := range fake.Env(srv) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	vs := vaultfake.New()
	defer vs.Close()
	vs.PutV2("secret/", "json", vaultfake.Version{Data: map[string]any{"password": value}})
	vs.Role("jwt", "ci", vaultfake.Role{Policy: []string{"secret/data/*"}})
	vaultEnv := map[string]string{"VAULT_ADDR": vs.URL, "VAULT_TOKEN": vs.Token("secret/data/*")}
	jobEnv := map[string]string{"VAULT_ADDR": vs.URL, "JOB_JWT": vs.Sign(map[string]any{"aud": "x", "exp": 1 << 40})}

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"value as reference", []string{"fetch", "--to", "json", "--secret", "DB_PASSWORD=" + value}, nil},
		{"bare value", []string{"fetch", "--to", "json", "--secret", value}, nil},
		{"value before =", []string{"fetch", "--to", "json", "--secret", value + "=ref+envsubst://$X"}, nil},
		{"value in a secrets file", []string{"fetch", "--to", "json", "--secrets-file", specs}, nil},
		{"value in SECRETGATE_SECRET", []string{"fetch", "--to", "json"}, map[string]string{"SECRETGATE_SECRET": "DB_PASSWORD=" + value}},
		{"value after ref+", []string{"scan", "--secret", "A=ref+" + value, dir}, nil},
		{"value in a query", []string{"scrub", "--secret", "A=ref+awssecrets://x?%zz" + value}, nil},
		{"unknown anchor", []string{"fetch", "--to", "json", "--secret", "P=ref+file://" + anchor + "#/password"}, nil},
		{"bad YAML", []string{"fetch", "--to", "json", "--secret", "P=ref+file://" + badYAML + "#/password"}, nil},
		{"bad JSON", []string{"fetch", "--to", "json", "--secret", "P=ref+file://" + badJSON + "#/password"}, nil},
		{"pointer past a value", []string{"fetch", "--to", "json", "--secret", "P=ref+file://" + doc + "#/password/x"}, nil},
		{"AWS value is not JSON", []string{"fetch", "--to", "json", "--secret", "P=ref+awssecrets://plain#/password"}, nil},
		{"AWS pointer misses", []string{"fetch", "--to", "json", "--secret", "P=ref+awssecrets://json#/passwd"}, nil},
		{"env file exists", []string{"fetch", "--to", "env-file=" + existing, "--secret", "P=ref+awssecrets://plain"}, nil},
		{"helm values that do not parse", []string{"helm", "--helm-bin", "/bin/true", "--", "template", "x", "-f", values}, nil},
		{"known-env set to a literal", []string{"scrub", "--known-env", value}, nil},
		{"Vault pointer misses", []string{"fetch", "--to", "json", "--secret", "P=ref+vault://secret/json#/passwd"}, vaultEnv},
		{"Vault pointer past a value", []string{"fetch", "--to", "json", "--secret", "P=ref+vault://secret/json#/password/x"}, vaultEnv},
		{"value as --id-token-env", []string{"fetch", "--to", "json", "--vault-role", "ci", "--id-token-env", value, "--secret", "P=ref+vault://secret/json#/password"}, jobEnv},
		{"value as the Vault role", []string{"fetch", "--to", "json", "--vault-role", value, "--id-token-env", "JOB_JWT", "--secret", "P=ref+vault://secret/json#/password"}, jobEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			getenv := func(k string) string { return tc.env[k] }
			code := Main(context.Background(), tc.args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut}, getenv)
			if code != ExitError {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitError, errOut.String())
			}
			forms, _ := known.Forms([]known.Secret{{Name: "V", Value: value}}, 6)
			for _, f := range forms {
				for where, text := range map[string]string{"stdout": out.String(), "stderr": errOut.String()} {
					if strings.Contains(text, string(f.Text)) {
						t.Errorf("%s holds the value (%s form):\n%s", where, f.Encoding, text)
					}
				}
			}
			if !strings.Contains(errOut.String(), "secretgate: error:") {
				t.Errorf("stderr %q: want an error message", errOut.String())
			}
		})
	}
}
