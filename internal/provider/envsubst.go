package provider

import (
	"context"
	"fmt"
	"os"

	"github.com/secretgate/secretgate/internal/secretref"
)

// Env resolves ref+envsubst://TEXT: TEXT with $VAR and ${VAR} replaced by
// environment variables, every one of which must be set.
type Env struct {
	Getenv func(string) string
}

var _ Provider = Env{}

// Resolve implements Provider.
func (e Env) Resolve(_ context.Context, refs []secretref.Ref) ([][]Secret, error) {
	out := make([][]Secret, len(refs))
	for i, r := range refs {
		var missing string
		v := os.Expand(r.Path, func(name string) string {
			val := e.Getenv(name)
			if val == "" && missing == "" {
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
