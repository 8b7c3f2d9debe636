package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/secretref"
)

// fakeStore resolves ref+fake://NAME from a map; a missing name fails.
type fakeStore map[string]string

func (f fakeStore) Resolve(_ context.Context, refs []secretref.Ref) ([][]provider.Secret, error) {
	out := make([][]provider.Secret, len(refs))
	for i, r := range refs {
		v, ok := f[r.Path]
		if !ok {
			return nil, errors.New("resolving " + r.Raw + ": not found")
		}
		out[i] = []provider.Secret{{Value: v, Meta: map[string]string{"provider": "fake", "name": r.Path}}}
	}
	return out, nil
}

// TestRunFetch drives runFetch with a fake registry and fake I/O: the
// command's own logic, without a provider or a process.
func TestRunFetch(t *testing.T) {
	store := fakeStore{"db": fixture.Password(31, 20), "api": fixture.Password(32, 24)}
	env := map[string]string{}
	opts := func(to ...string) (*FetchOptions, *bytes.Buffer, *bytes.Buffer) {
		var out, errOut bytes.Buffer
		return &FetchOptions{
			Secrets: SecretOptions{Specs: []string{"DB=ref+fake://db", "ref+fake://api"}, Registry: provider.Registry{"fake": store}},
			To:      to, MinMaskLength: 6, Timeout: time.Minute,
			IO:     IO{In: strings.NewReader(""), Out: &out, Err: &errOut},
			Getenv: func(k string) string { return env[k] },
		}, &out, &errOut
	}

	o, out, errOut := opts("json")
	if err := runFetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if diff := cmp.Diff(map[string]string{"DB": store["db"], "API": store["api"]}, got); diff != "" {
		t.Errorf("json (-want +got):\n%s", diff)
	}
	if !strings.Contains(errOut.String(), "fetched DB from fake db") {
		t.Errorf("access record %q, want DB named", errOut)
	}

	// Inside GitHub Actions: masks on stderr before anything, outputs in
	// the runner's file.
	dir := t.TempDir()
	env["GITHUB_ACTIONS"], env["GITHUB_OUTPUT"] = "true", filepath.Join(dir, "out")
	os.WriteFile(env["GITHUB_OUTPUT"], nil, 0o644)
	o, out, _ = opts()
	if err := runFetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "::add-mask::") || strings.Count(out.String(), "::add-mask::"+store["db"]+"\n") != 1 {
		t.Errorf("stdout %q, want masks for every value first", out)
	}
	if data, _ := os.ReadFile(env["GITHUB_OUTPUT"]); !strings.Contains(string(data), "\n"+store["api"]+"\n") {
		t.Errorf("GITHUB_OUTPUT lacks API")
	}

	// A reference that fails: exit 2, nothing delivered, no value shown.
	before, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	o, out, _ = opts()
	o.Secrets.Specs = append(o.Secrets.Specs, "X=ref+fake://missing")
	var ee *exitError
	if err := runFetch(context.Background(), o); !errors.As(err, &ee) || ee.code != ExitError {
		t.Errorf("runFetch = %v, want exit 2", err)
	}
	if after, _ := os.ReadFile(env["GITHUB_OUTPUT"]); !bytes.Equal(before, after) || out.Len() > 0 {
		t.Errorf("something was delivered after a failure: stdout %q", out)
	}
}

func TestAgeFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90d": 90 * 24 * time.Hour, "36h": 36 * time.Hour, "1d12h": 36 * time.Hour, "45m": 45 * time.Minute,
	} {
		var a age
		if err := a.Set(in); err != nil || time.Duration(a) != want {
			t.Errorf("%q: %v, %v; want %v", in, time.Duration(a), err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1d", "1y", "d", "90dd", "1.5d"} {
		var a age
		if err := a.Set(in); err == nil {
			t.Errorf("%q: taken as %v, want an error", in, time.Duration(a))
		}
	}
}

func TestCheckAges(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	secrets := []provider.Secret{
		{Name: "OLD", Created: now.Add(-100 * 24 * time.Hour), Meta: map[string]string{"provider": "vault"}},
		{Name: "AGING", Created: now.Add(-70 * 24 * time.Hour), Meta: map[string]string{"provider": "vault"}},
		{Name: "NEW", Created: now.Add(-time.Hour), Meta: map[string]string{"provider": "vault"}},
		{Name: "ENV", Meta: map[string]string{"provider": "envsubst"}},
	}
	var warnings []string
	warn := func(err error) { warnings = append(warnings, err.Error()) }
	o := &SecretOptions{MaxAge: 90 * 24 * time.Hour, WarnAge: 60 * 24 * time.Hour, Now: func() time.Time { return now }}
	err := checkAges(o, secrets, warn)
	if err == nil || err.Error() != "older than --max-age 90d, so nothing was delivered: OLD (100d old); rotate them" {
		t.Errorf("err = %v", err)
	}
	want := []string{
		"secret AGING is 70d old (--warn-age 60d): rotate it",
		"secret ENV: envsubst does not say when it was made: its age is not checked",
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings %q, want %q", warnings, want)
	}
	warnings = nil
	if err := checkAges(&SecretOptions{}, secrets, warn); err != nil || len(warnings) != 0 {
		t.Errorf("no age flags: %v, %q", err, warnings)
	}
}
