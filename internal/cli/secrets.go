package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/provider/awssm"
	"github.com/secretgate/secretgate/internal/secretref"
	"github.com/secretgate/secretgate/scanner/known"
)

// SecretOptions are the flags every command that knows secrets takes.
type SecretOptions struct {
	Specs     []string // --secret NAME=REF
	Files     []string // --secrets-file: one spec a line
	KnownEnv  []string // --known-env VAR
	MinLength int      // --min-length (scan, scrub, run: what is matched)

	// Registry resolves references; the command line's providers unless a
	// test sets its own.
	Registry provider.Registry
}

// addSecretFlags adds --secret, --secrets-file and --known-env, and with
// matching (commands that look for secrets in text) --min-length.
func addSecretFlags(f *pflag.FlagSet, o *SecretOptions, matching bool) {
	f.StringArrayVar(&o.Specs, "secret", nil, "a secret, NAME=REF or REF (ref+awssecrets://NAME, ref+envsubst://$VAR, ref+file://PATH#/pointer); repeatable")
	f.StringArrayVar(&o.Files, "secrets-file", nil, "a file of secret specs, one a line, # comments; repeatable")
	f.StringArrayVar(&o.KnownEnv, "known-env", nil, "an environment variable whose value is a secret; repeatable")
	if matching {
		f.IntVar(&o.MinLength, "min-length", 6, "forms of a secret shorter than this many bytes are not matched")
	}
}

func (o *SecretOptions) empty() bool {
	return len(o.Specs) == 0 && len(o.Files) == 0 && len(o.KnownEnv) == 0
}

// registry returns the providers this build knows.
func registry(getenv Getenv, lookup LookupEnv) provider.Registry {
	return provider.Registry{
		"awssecrets": awssm.New(30 * time.Second),
		"envsubst":   provider.Env{Getenv: getenv, Lookup: lookup},
		"file":       provider.File{Open: func(name string) (io.ReadCloser, error) { return os.Open(name) }},
	}
}

// specs parses every --secret and every line of every --secrets-file.
func (o *SecretOptions) specs() ([]secretref.Spec, error) {
	var specs []secretref.Spec
	for _, s := range o.Specs {
		spec, err := secretref.ParseSpec(s)
		if err != nil {
			return nil, usageError("--secret: %v", err)
		}
		specs = append(specs, spec)
	}
	for _, path := range o.Files {
		fileSpecs, err := readSpecsFile(path)
		if err != nil {
			return nil, usageError("%v", err)
		}
		specs = append(specs, fileSpecs...)
	}
	return specs, nil
}

// resolveSecrets is the one loader of secrets: it parses every spec the
// flags name, adds more (helm's values-file references), resolves them all
// or none, and adds the --known-env values. A set but empty variable is
// skipped with a warning: there is nothing to mask.
func resolveSecrets(ctx context.Context, o *SecretOptions, more []secretref.Spec, getenv Getenv, lookup LookupEnv, warn func(error)) ([]provider.Secret, error) {
	specs, err := o.specs()
	if err != nil {
		return nil, err
	}
	reg := o.Registry
	if reg == nil {
		reg = registry(getenv, lookup)
	}
	secrets, err := reg.Resolve(ctx, append(specs, more...))
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	for _, name := range o.KnownEnv {
		if !envName.MatchString(name) {
			// Never echoed: a value may have been given for the name.
			return nil, usageError("--known-env: want the name of an environment variable (letters, digits and _), not its value")
		}
		v, set := getenv(name), getenv(name) != ""
		if lookup != nil {
			v, set = lookup(name)
		}
		switch {
		case !set:
			return nil, usageError("--known-env %s: the variable is not set", name)
		case v == "":
			warn(fmt.Errorf("--known-env %s: the variable is empty: nothing to mask", name))
			continue
		}
		secrets = append(secrets, provider.Secret{Name: name, Value: v, Meta: map[string]string{"provider": "environment"}})
	}
	return secrets, nil
}

func readSpecsFile(path string) ([]secretref.Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--secrets-file %q: %w", path, unwrapPath(err))
	}
	defer f.Close()
	var specs []secretref.Spec
	s := bufio.NewScanner(f)
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		spec, err := secretref.ParseSpec(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		specs = append(specs, spec)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("--secrets-file %q: %w", path, err)
	}
	return specs, nil
}

// loadMatcher resolves the secrets the flags name and builds a matcher for
// their forms; nil when no secret was named.
func loadMatcher(ctx context.Context, o *SecretOptions, getenv Getenv, lookup LookupEnv, warn func(error)) (*known.Matcher, error) {
	if o.empty() {
		return nil, nil
	}
	resolved, err := resolveSecrets(ctx, o, nil, getenv, lookup, warn)
	if err != nil {
		return nil, err
	}
	return matcherFor(resolved, o.MinLength, warn), nil
}

// matcherFor builds a matcher for the forms of resolved secrets. Secrets
// too short to match are warned about by name.
func matcherFor(resolved []provider.Secret, minLength int, warn func(error)) *known.Matcher {
	secrets, parts := provider.Known(resolved)
	forms, short := known.Forms(secrets, minLength)
	for _, i := range short {
		if i >= parts {
			continue // a short field of a JSON secret: its other fields are matched
		}
		if secrets[i].Value == "" {
			warn(fmt.Errorf("secret %s is empty: nothing to mask", secrets[i].Name))
			continue
		}
		warn(fmt.Errorf("secret %s is shorter than %d bytes: it is not matched (see --min-length)", secrets[i].Name, minLength))
	}
	return known.New(secrets, forms)
}

// loadKnown is loadMatcher as a scan detector.
func loadKnown(ctx context.Context, o *SecretOptions, getenv Getenv, lookup LookupEnv, warn func(error)) (*known.Detector, error) {
	m, err := loadMatcher(ctx, o, getenv, lookup, warn)
	if m == nil || err != nil {
		return nil, err
	}
	return known.NewDetector(m), nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// unwrapPath drops an *os.PathError's wrapper where the message names the
// path already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
