// Package providertest is what the secret stores' tests share.
package providertest

import (
	"context"
	"testing"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/secretref"
)

// Resolve parses spec lines (failing the test on a bad one) and resolves
// them through a registry where p serves scheme.
func Resolve(t testing.TB, scheme string, p provider.Provider, lines ...string) ([]provider.Secret, error) {
	t.Helper()
	var specs []secretref.Spec
	for _, l := range lines {
		s, err := secretref.ParseSpec(l)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	return provider.Registry{scheme: p}.Resolve(context.Background(), specs)
}

// FuzzRefs fuzzes what follows ref+SCHEME:// from seeds: each input that
// parses as a reference is given to check, which parses it the store's way
// and fails the test on what must not be accepted.
func FuzzRefs(f *testing.F, scheme string, seeds []string, check func(t *testing.T, r secretref.Ref)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if r, err := secretref.Parse("ref+" + scheme + "://" + in); err == nil {
			check(t, r)
		}
	})
}
