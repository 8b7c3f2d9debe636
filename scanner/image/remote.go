package image

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// keychain finds registry credentials: --registry-username and
// --registry-password-stdin for the target's registry, GITHUB_TOKEN for
// ghcr.io, then ~/.docker/config.json and its credential helpers.
func (s *Source) keychain(ref name.Reference) authn.Keychain {
	var chains []authn.Keychain
	if s.opts.Username != "" || s.opts.Password != "" {
		chains = append(chains, staticKeychain{ref.Context().RegistryStr(), authn.FromConfig(authn.AuthConfig{
			Username: s.opts.Username, Password: s.opts.Password,
		})})
	}
	if tok := s.opts.Getenv("GITHUB_TOKEN"); tok != "" {
		chains = append(chains, staticKeychain{"ghcr.io", authn.FromConfig(authn.AuthConfig{
			Username: cmp.Or(s.opts.Getenv("GITHUB_ACTOR"), "github"), Password: tok,
		})})
	}
	return authn.NewMultiKeychain(append(chains, authn.DefaultKeychain)...)
}

type staticKeychain struct {
	registry string
	auth     authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() == k.registry {
		return k.auth, nil
	}
	return authn.Anonymous, nil
}

// httpTransport is an HTTP transport with time limits on every step that can
// hang (dialling, TLS, waiting for headers), but none on reading a large
// layer body that keeps arriving.
func httpTransport() http.RoundTripper {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   8,
	}
}

// registryError says what a registry's HTTP status means for the user.
func registryError(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusUnauthorized:
		return fmt.Errorf("the registry wants credentials (401): log in with docker login, or pass --registry-username and --registry-password-stdin: %w", err)
	case http.StatusForbidden:
		return fmt.Errorf("the registry denied access (403): %w", err)
	case http.StatusNotFound:
		return fmt.Errorf("no such image or manifest (404): %w", err)
	}
	return err
}
