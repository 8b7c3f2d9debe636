package provider

import (
	"context"
	"fmt"
	"os"

	"github.com/secretgate/secretgate/internal/secretref"
)

// Env resolves ref+envsubst://TEXT: TEXT with $VAR and ${VAR} replaced by
// environment variables, every one of which must be set (set and empty is
// set: the value may come out empty, which callers warn about).
type Env struct {
	Getenv func(string) string
	// Lookup, when given, tells an empty variable from an unset one; without
	// it, empty is taken as unset.
	Lookup func(string) (string, bool)
}

var _ Provider = Env{}

// Resolve implements Provider.
func (e Env) Resolve(_ context.Context, refs []secretref.Ref) ([][]Secret, error) {
	out := make([][]Secret, len(refs))
	for i, r := range refs {
		var missing string
		v := os.Expand(r.Path, func(name string) string {
			val, set := e.Getenv(name), false
			if e.Lookup != nil {
				val, set = e.Lookup(name)
			} else {
				set = val != ""
			}
			if !set && missing == "" {
				missing = name
			}
			return val
		})
		if missing != "" {
			return nil, fmt.Errorf("resolving %q: environment variable %s is not set", r.Raw, missing)
		}
		if r.Fragment != "" {
			return nil, fmt.Errorf("resolving %q: envsubst takes no #fragment", r.Raw)
		}
		out[i] = []Secret{{Value: v, Meta: map[string]string{"provider": "envsubst"}}}
	}
	return out, nil
}
