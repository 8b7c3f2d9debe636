package provider

import "context"

// JobToken is the CI job's own identity: an OIDC token its CI system signs
// for it (GitHub Actions' runner on request, GitLab's id_tokens: in a
// variable), which a store trusts instead of a long-lived credential.
type JobToken interface {
	// Available reports whether this job can get one.
	Available() bool
	// Get returns a token for audience ("" for the CI system's default).
	Get(ctx context.Context, audience string) (string, error)
}
