package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/secretgate/secretgate/internal/ghactions"
)

// jobToken is the CI job's OIDC identity: the variable --id-token-env
// names (GitLab's id_tokens:), or a token asked of GitHub's runner.
type jobToken struct {
	getenv Getenv
	env    string
}

func (j jobToken) Available() bool {
	if j.env != "" {
		return j.getenv(j.env) != ""
	}
	return ghactions.IDTokenAvailable(j.getenv)
}

func (j jobToken) Get(ctx context.Context, audience string) (string, error) {
	if j.env != "" {
		if !envName.MatchString(j.env) {
			// Never echoed: a token may have been given for the name.
			return "", errors.New("--id-token-env: want the name of an environment variable (letters, digits and _), not its value")
		}
		tok := j.getenv(j.env)
		if tok == "" {
			return "", fmt.Errorf("--id-token-env %s: the variable is not set (GitLab: declare it under the job's id_tokens:)", j.env)
		}
		return tok, nil
	}
	if !ghactions.IDTokenAvailable(j.getenv) {
		return "", errors.New("no job identity token: in GitHub Actions grant the job permissions: id-token: write; in GitLab declare id_tokens: and name the variable with --id-token-env")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return ghactions.IDToken(ctx, j.getenv, &http.Client{Timeout: 30 * time.Second}, audience)
}
