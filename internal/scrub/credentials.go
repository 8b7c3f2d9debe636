package scrub

import (
	"context"
	"regexp"
	"sync"

	"github.com/secretgate/secretgate/scanner/detect"
)

// Credentials finds credentials nobody declared that GitLab's runner masks
// in job logs too: the password in scheme://user:PASSWORD@host, and the
// value of a query parameter that carries a token or a signature
// (private_token, X-Amz-Signature, sig, token...). Its matches are the
// whole user:password@ or name=value, its secrets the password or value.
type Credentials struct{}

var _ detect.Detector = Credentials{}

// credentialPatterns are compiled on first use, not at every start-up.
var credentialPatterns = sync.OnceValue(func() []*regexp.Regexp {
	return []*regexp.Regexp{
		// The userinfo of a URL: a scheme, then user:password before the host.
		regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@?#]*:([^\s/@?#]+)@`),
		// A query or form parameter named for a credential.
		regexp.MustCompile(`(?i)[?&;](?:private_token|authenticity_token|rss_token|feed_token|job_token|access_token|id_token|refresh_token|token|` +
			`x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|sig|signature|` +
			`client_secret|password|passwd|api_key|apikey|secret)=([^\s&#"'<>]+)`),
	}
})

// Detect implements detect.Detector.
func (Credentials) Detect(_ context.Context, c *detect.Chunk, found func(detect.Match)) {
	for _, re := range credentialPatterns() {
		for _, loc := range re.FindAllSubmatchIndex(c.Data, -1) {
			found(detect.Match{
				Rule:        "undeclared-credential",
				Description: "A credential in a URL",
				Start:       loc[0],
				End:         loc[1],
				Secret:      string(c.Data[loc[2]:loc[3]]),
			})
		}
	}
}

// Detectors runs each of its detectors in turn.
type Detectors []detect.Detector

var _ detect.Detector = Detectors(nil)

// Detect implements detect.Detector.
func (ds Detectors) Detect(ctx context.Context, c *detect.Chunk, found func(detect.Match)) {
	for _, d := range ds {
		d.Detect(ctx, c, found)
	}
}
