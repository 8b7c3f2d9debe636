package provider

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/secretref"
)

func specs(t *testing.T, lines ...string) []secretref.Spec {
	t.Helper()
	var out []secretref.Spec
	for _, l := range lines {
		s, err := secretref.ParseSpec(l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func registry(dir string, env map[string]string) Registry {
	return Registry{
		"envsubst": Env{Getenv: func(k string) string { return env[k] }},
		"file": File{Open: func(name string) (io.ReadCloser, error) {
			if !filepath.IsAbs(name) {
				name = filepath.Join(dir, name)
			}
			return os.Open(name)
		}},
	}
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("db:\n  password: hunter22\n  ports: [1, 2]\nlist:\n  - a: x1\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "token"), []byte("tok-value\n"), 0o600)
	r := registry(dir, map[string]string{"A": "alpha", "B": "beta"})
	got, err := r.Resolve(context.Background(), specs(t,
		"P=ref+file://s.yaml#/db/password",
		"Q=ref+file://s.yaml#/list/0/a",
		"T=ref+file://token",
		"E=ref+envsubst://$A-${B}",
	))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"P": "hunter22", "Q": "x1", "T": "tok-value", "E": "alpha-beta"}
	for _, s := range got {
		if s.Value != want[s.Name] {
			t.Errorf("%s = %q, want %q", s.Name, s.Value, want[s.Name])
		}
	}
}

func TestResolveAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("db:\n  password: hunter22\n"), 0o600)
	r := registry(dir, map[string]string{"A": "alpha"})
	for _, tt := range []struct {
		specs []string
		want  string
	}{
		{[]string{"A=ref+envsubst://$A", "B=ref+envsubst://$MISSING"}, "MISSING is not set"},
		{[]string{"A=ref+file://s.yaml#/db/nope"}, `no key "nope"`},
		{[]string{"A=ref+file://s.yaml#/db"}, "not a single value"},
		{[]string{"A=ref+file://nofile"}, "no such file"},
		{[]string{"A=ref+vault://x"}, `unknown scheme "vault"`},
		{[]string{"A=ref+envsubst://$A", "A=ref+envsubst://$A"}, "named twice"},
	} {
		got, err := r.Resolve(context.Background(), specs(t, tt.specs...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Resolve(%v) = %v, %v; want error %q", tt.specs, got, err, tt.want)
		}
		if got != nil {
			t.Errorf("Resolve(%v) delivered %d secrets despite an error", tt.specs, len(got))
		}
		if err != nil && strings.Contains(err.Error(), "hunter22") {
			t.Errorf("error %q holds a secret value", err)
		}
	}
}

// TestEnvEmptyIsSet: with Lookup, a set but empty variable gives an empty
// value (which callers warn about); an unset one is still an error.
func TestEnvEmptyIsSet(t *testing.T) {
	env := map[string]string{"EMPTY": ""}
	e := Env{Getenv: func(k string) string { return env[k] }, Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	r := Registry{"envsubst": e}
	got, err := r.Resolve(context.Background(), specs(t, "E=ref+envsubst://$EMPTY"))
	if err != nil || len(got) != 1 || got[0].Value != "" {
		t.Fatalf("Resolve($EMPTY) = %v, %v; want one empty value", got, err)
	}
	if _, err := r.Resolve(context.Background(), specs(t, "U=ref+envsubst://$UNSET")); err == nil || !strings.Contains(err.Error(), "UNSET is not set") {
		t.Errorf("Resolve($UNSET) error = %v, want it named as not set", err)
	}
}
