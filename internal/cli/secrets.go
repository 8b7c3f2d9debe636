package cli

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/provider/awssm"
	"github.com/secretgate/secretgate/internal/provider/azurekv"
	"github.com/secretgate/secretgate/internal/provider/gcpsm"
	"github.com/secretgate/secretgate/internal/provider/vault"
	"github.com/secretgate/secretgate/internal/secretref"
	"github.com/secretgate/secretgate/scanner/known"
)

// SecretOptions are the flags every command that knows secrets takes.
type SecretOptions struct {
	Specs     []string // --secret NAME=REF
	Files     []string // --secrets-file: one spec a line
	KnownEnv  []string // --known-env VAR
	MinLength int      // --min-length (scan, scrub, run: what is matched)

	Vault      vault.Auth // --vault-auth-method, --vault-auth-mount, --vault-role, --vault-audience
	IDTokenEnv string     // --id-token-env: the variable holding the job's OIDC token
	// --gcp-workload-identity-provider, --gcp-service-account
	GCPProvider, GCPServiceAccount string

	// MaxAge and WarnAge (fetch, helm, run) bound how long ago the store
	// made the version resolved: older fails the command before anything
	// is delivered, or only warns.
	MaxAge, WarnAge time.Duration

	// Previous (scan) adds each secret's previous version, where the store
	// keeps one, as NAME@previous.
	Previous bool

	// Registry resolves references; the command line's providers unless a
	// test sets its own.
	Registry provider.Registry
	// Now is the clock ages are measured by (time.Now when nil).
	Now func() time.Time
}

// addSecretFlags adds --secret, --secrets-file and --known-env, and with
// matching (commands that look for secrets in text) --min-length.
func addSecretFlags(f *pflag.FlagSet, o *SecretOptions, matching bool) {
	f.StringArrayVar(&o.Specs, "secret", nil, "a secret, NAME=REF or REF (ref+awssecrets://NAME, ref+vault://PATH#/key, ref+azurekeyvault://VAULT/SECRET, ref+gcpsecrets://PROJECT/SECRET, ref+envsubst://$VAR, ref+file://PATH#/pointer); repeatable")
	f.StringArrayVar(&o.Files, "secrets-file", nil, "a file of secret specs, one a line, # comments; repeatable")
	f.StringArrayVar(&o.KnownEnv, "known-env", nil, "an environment variable whose value is a secret; repeatable")
	if matching {
		f.IntVar(&o.MinLength, "min-length", 6, "forms of a secret shorter than this many bytes are not matched")
	}
	f.StringVar(&o.Vault.Method, "vault-auth-method", "", "how to log in to Vault: "+strings.Join(vault.Methods, ", ")+" (default: VAULT_TOKEN if set, AppRole if VAULT_ROLE_ID is, else jwt with the job's OIDC token or kubernetes, given --vault-role)")
	f.StringVar(&o.Vault.Mount, "vault-auth-mount", "", "where the Vault auth method is mounted (default: its name, such as jwt)")
	f.StringVar(&o.Vault.Role, "vault-role", "", "the Vault role to log in as (jwt, kubernetes)")
	f.StringVar(&o.Vault.Audience, "vault-audience", "", "the audience to ask of GitHub's OIDC token for Vault (default GitHub's: the repository owner's URL)")
	f.StringVar(&o.GCPProvider, "gcp-workload-identity-provider", "", "exchange the job's OIDC token with this Google workload identity provider (projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER) instead of application default credentials")
	f.StringVar(&o.GCPServiceAccount, "gcp-service-account", "", "the service account to impersonate with the federated token (default: the federated identity itself)")
	f.StringVar(&o.IDTokenEnv, "id-token-env", "", "the environment variable holding the job's OIDC token (GitLab: a variable declared under id_tokens:); default in GitHub Actions: asked of the runner")
}

// addAgeFlags adds --max-age and --warn-age, for commands that deliver.
func addAgeFlags(f *pflag.FlagSet, o *SecretOptions) {
	f.Var((*age)(&o.MaxAge), "max-age", "fail, delivering nothing, if a secret's current version is older than this (90d, 12h)")
	f.Var((*age)(&o.WarnAge), "warn-age", "warn if a secret's current version is older than this (60d)")
}

// age is a duration flag that takes days too: 90d, 36h, 1d12h.
type age time.Duration

func (a *age) String() string {
	if *a == 0 {
		return ""
	}
	return formatAge(time.Duration(*a))
}

func (a *age) Type() string { return "duration" }

func (a *age) Set(s string) error {
	days := 0
	rest := s
	if i := strings.Index(s, "d"); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return fmt.Errorf("want a duration such as 90d or 12h")
		}
		days, rest = n, s[i+1:]
	}
	d := time.Duration(0)
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return fmt.Errorf("want a duration such as 90d or 12h")
		}
	}
	d += time.Duration(days) * 24 * time.Hour
	if d <= 0 {
		return fmt.Errorf("want a duration above zero, such as 90d")
	}
	*a = age(d)
	return nil
}

// formatAge says an age in days, or hours under two days.
func formatAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	return fmt.Sprintf("%dh", int(d.Hours()))
}

// checkAges fails when a secret is older than --max-age, and warns when
// older than --warn-age, naming each secret and its age. A secret whose
// store keeps no creation time is warned about: its age is not checked.
func checkAges(o *SecretOptions, secrets []provider.Secret, warn func(error)) error {
	if o.MaxAge == 0 && o.WarnAge == 0 {
		return nil
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	var old []string
	for _, s := range secrets {
		if s.Created.IsZero() {
			warn(fmt.Errorf("secret %s: %s does not say when it was made: its age is not checked", s.Name, cmp.Or(s.Meta["provider"], "its source")))
			continue
		}
		a := now().Sub(s.Created)
		switch {
		case o.MaxAge > 0 && a > o.MaxAge:
			old = append(old, fmt.Sprintf("%s (%s old)", s.Name, formatAge(a)))
		case o.WarnAge > 0 && a > o.WarnAge:
			warn(fmt.Errorf("secret %s is %s old (--warn-age %s): rotate it", s.Name, formatAge(a), formatAge(o.WarnAge)))
		}
	}
	if len(old) > 0 {
		return fmt.Errorf("older than --max-age %s, so nothing was delivered: %s; rotate them", formatAge(o.MaxAge), strings.Join(old, ", "))
	}
	return nil
}

func (o *SecretOptions) empty() bool {
	return len(o.Specs) == 0 && len(o.Files) == 0 && len(o.KnownEnv) == 0
}

// registry returns the providers this build knows.
func registry(o *SecretOptions, getenv Getenv, lookup LookupEnv) provider.Registry {
	job := jobToken{getenv: getenv, env: o.IDTokenEnv}
	return provider.Registry{
		"awssecrets":    awssm.New(30 * time.Second),
		"azurekeyvault": &azurekv.Provider{Getenv: getenv, JobToken: job, CallTimeout: 30 * time.Second},
		"envsubst":      provider.Env{Getenv: getenv, Lookup: lookup},
		"file":          provider.File{Open: func(name string) (io.ReadCloser, error) { return os.Open(name) }},
		"gcpsecrets": gcpsm.New(30*time.Second, gcpsm.Federation{
			Provider: o.GCPProvider, ServiceAccount: o.GCPServiceAccount, JobToken: job,
		}),
		"vault": &vault.Provider{
			Getenv: getenv, Auth: o.Vault, JobToken: job, ReadFile: os.ReadFile, CallTimeout: 30 * time.Second,
		},
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
		reg = registry(o, getenv, lookup)
	}
	secrets, err := reg.Resolve(ctx, append(specs, more...))
	if err != nil {
		return nil, &exitError{code: ExitError, err: err}
	}
	if o.Previous {
		prev, unsupported, err := reg.Previous(ctx, secrets)
		if err != nil {
			return nil, &exitError{code: ExitError, err: fmt.Errorf("--previous-versions: %w", err)}
		}
		for _, name := range unsupported {
			warn(fmt.Errorf("--previous-versions: secret %s comes from a source that keeps no versions", name))
		}
		secrets = append(secrets, prev...)
	}
	if err := checkAges(o, secrets, warn); err != nil {
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
	defer lateCollection()()
	resolved, err := resolveSecrets(ctx, o, nil, getenv, lookup, warn)
	if err != nil {
		return nil, err
	}
	return matcherFor(resolved, o.MinLength, warn), nil
}

// startHeap is how far the heap may grow while the secrets are resolved
// and their matcher built before the garbage collector first runs.
const startHeap = 64 << 20

// lateCollection holds the garbage collector back until the heap reaches
// startHeap (or a lower GOMEMLIMIT), and returns the function that puts
// it back as it was. Building the matcher for 1,000 secrets allocates
// from an empty heap, whose small first goals made the collector run five
// times and take 10-20 of scrub's 40 ms start (issue 15); past startHeap
// it runs as usual, so memory stays bounded for any number of secrets.
func lateCollection() func() {
	limit := debug.SetMemoryLimit(-1)
	debug.SetMemoryLimit(min(limit, startHeap))
	percent := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
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
