package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/secretgate/secretgate/internal/deliver"
	"github.com/secretgate/secretgate/internal/ghactions"
	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/report"
	"github.com/secretgate/secretgate/internal/secretref"
)

// FetchOptions is what `secretgate fetch` was asked to do.
type FetchOptions struct {
	Secrets       SecretOptions
	To            []string
	MinMaskLength int
	JSONKeys      bool
	Timeout       time.Duration

	IO     IO
	Getenv Getenv
}

func newFetchCmd(stdio IO, getenv Getenv) *cobra.Command {
	opts := &FetchOptions{IO: stdio, Getenv: getenv}
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Resolve secret references and hand the values to the next step, masked",
		Long: `Resolve every secret reference (AWS Secrets Manager, HashiCorp Vault, Azure Key
Vault, Google Secret Manager, environment, files), all or nothing, as the job's own
identity, and deliver the values:

  --to github-outputs   step outputs (default inside GitHub Actions), masks first
  --to github-env       environment variables of the later steps, masks first
  --to env-file=PATH    a 0600 file of export NAME='value' lines, for one GitLab job
  --to helm-values=PATH a 0600 Helm values file; dotted names are paths
  --to json             a JSON object on standard output, for tools

GitLab dotenv reports are refused: their values are neither masked nor private.
An access record (names, providers, versions, creation dates; never values) goes to
stderr and, inside GitHub Actions, to the job summary. --max-age fails, delivering
nothing, when a secret's current version is older.`,
		Example: `  secretgate fetch --secret DB_PASSWORD=ref+awssecrets://prod/db#/password
  secretgate fetch --secrets-file secrets.txt --to env-file=$CI_PROJECT_DIR/.secrets.env
  secretgate fetch --secret 'secret.dbPassword=ref+awssecrets://prod/db#/password' --to helm-values=/tmp/v.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, getenv); err != nil {
				return err
			}
			return runFetch(cmd.Context(), opts)
		},
	}
	addSecretFlags(cmd.Flags(), &opts.Secrets, false)
	addAgeFlags(cmd.Flags(), &opts.Secrets)
	f := cmd.Flags()
	f.StringArrayVar(&opts.To, "to", nil, "where the values go (repeatable): github-outputs, github-env, env-file=PATH, helm-values=PATH, json")
	f.IntVar(&opts.MinMaskLength, "min-mask-length", 6, "values shorter than this are delivered but named in a warning: masking them would hide too much")
	f.BoolVar(&opts.JSONKeys, "json-keys", false, "expand each JSON object secret into NAME_KEY values, one per leaf")
	f.DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "give up resolving after this long")
	return cmd
}

type destination struct{ kind, path string }

func parseDestinations(to []string, getenv Getenv) ([]destination, error) {
	if len(to) == 0 {
		if getenv("GITHUB_ACTIONS") != "true" {
			return nil, usageError("--to: say where the values go (github-outputs, github-env, env-file=PATH, helm-values=PATH, json)")
		}
		to = []string{"github-outputs"}
	}
	var out []destination
	for _, t := range to {
		kind, path, hasPath := strings.Cut(t, "=")
		switch kind {
		case "github-outputs", "github-env", "json":
			if hasPath {
				return nil, usageError("--to %s takes no path", kind)
			}
		case "env-file", "helm-values":
			if path == "" {
				return nil, usageError("--to %s=PATH: the path is missing", kind)
			}
		case "dotenv":
			return nil, usageError("--to dotenv: refused: a GitLab dotenv report's values are shown in the job's artifacts and passed to later jobs unmasked; use --to env-file=PATH and source it within the job")
		default:
			return nil, usageError("--to %q: want github-outputs, github-env, env-file=PATH, helm-values=PATH or json", t)
		}
		out = append(out, destination{kind, path})
	}
	return out, nil
}

func runFetch(ctx context.Context, opts *FetchOptions) error {
	dests, err := parseDestinations(opts.To, opts.Getenv)
	if err != nil {
		return err
	}
	if opts.Secrets.empty() {
		return usageError("no secrets to fetch: name them with --secret, --secrets-file or --known-env")
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	warn := warner(opts.IO.Err)
	resolved, err := resolveSecrets(ctx, &opts.Secrets, nil, opts.Getenv, opts.IO.Lookup, warn)
	if err != nil {
		return err
	}
	secrets, err := toDeliver(resolved, opts.JSONKeys)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	for _, s := range secrets {
		if len(s.Value) < opts.MinMaskLength {
			warn(fmt.Errorf("secret %s is shorter than %d bytes: it is delivered, but logs cannot safely mask it", s.Name, opts.MinMaskLength))
		}
	}
	tx, err := planDelivery(opts, dests, secrets)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	if err := tx.Check(); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	step := ghactions.New(opts.IO.Out, opts.Getenv)
	if slices.ContainsFunc(dests, func(d destination) bool { return d.kind == "json" }) {
		// Workflow commands on standard error too: the runner reads both,
		// and standard output stays one JSON document.
		step = ghactions.New(opts.IO.Err, opts.Getenv)
	}
	if step.InActions() || slices.ContainsFunc(dests, func(d destination) bool { return strings.HasPrefix(d.kind, "github-") }) {
		// Masks first, always: before any value is written anywhere.
		for _, m := range deliver.Masks(secrets, opts.MinMaskLength) {
			step.AddMask(m)
		}
		if err := step.Err(); err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing masks: %w", err)}
		}
	}
	if err := tx.Commit(); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	accessRecord(opts, resolved, step)
	return nil
}

// planDelivery builds every delivery whole before anything is written, so
// that a bad name or value fails the step with nothing delivered.
func planDelivery(opts *FetchOptions, dests []destination, secrets []provider.Secret) (*deliver.Transaction, error) {
	declared := map[string]bool{}
	for _, s := range opts.Secrets.Specs {
		if spec, err := secretref.ParseSpec(s); err == nil && !spec.Derived {
			declared[spec.Name] = true
		}
	}
	for _, name := range opts.Secrets.KnownEnv {
		declared[name] = true
	}
	values := make([]ghactions.Value, len(secrets))
	for i, s := range secrets {
		values[i] = ghactions.Value{Name: s.Name, Value: s.Value}
	}
	tx := &deliver.Transaction{}
	for _, d := range dests {
		var data []byte
		var err error
		switch d.kind {
		case "github-outputs":
			data, err = ghactions.FileCommands(values, false, nil)
			tx.Append("GITHUB_OUTPUT", opts.Getenv("GITHUB_OUTPUT"), data)
		case "github-env":
			// A refused name passes only when the user declared it by that
			// exact name, never when a prefix reference brought it.
			data, err = ghactions.FileCommands(values, true, func(name string) bool { return declared[name] })
			tx.Append("GITHUB_ENV", opts.Getenv("GITHUB_ENV"), data)
		case "env-file":
			data, err = deliver.EnvFile(secrets)
			tx.Create(d.path, data)
		case "helm-values":
			data, err = deliver.HelmValues(secrets)
			tx.Create(d.path, data)
		case "json":
			data, err = deliver.JSON(secrets)
			tx.Stream("standard output", opts.IO.Out, data)
		}
		if err != nil {
			return nil, fmt.Errorf("--to %s: %w", d.kind, err)
		}
	}
	return tx, nil
}

// toDeliver turns resolved secrets into deliveries, expanding JSON objects
// into NAME_KEY leaves when asked.
func toDeliver(resolved []provider.Secret, jsonKeys bool) ([]provider.Secret, error) {
	var out []provider.Secret
	seen := map[string]bool{}
	add := func(s provider.Secret) error {
		if seen[s.Name] {
			return fmt.Errorf("secret %s named twice", s.Name)
		}
		seen[s.Name] = true
		out = append(out, s)
		return nil
	}
	for _, s := range resolved {
		var obj map[string]any
		if jsonKeys && json.Unmarshal([]byte(s.Value), &obj) == nil {
			leaves := map[string]string{}
			flatten(s.Name, obj, leaves)
			for _, name := range slices.Sorted(maps.Keys(leaves)) {
				if err := add(provider.Secret{Name: name, Value: leaves[name], Ref: s.Ref, Meta: s.Meta}); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			flatten(prefix+"_"+strings.TrimLeft(secretref.Normalize(k), "_"), child, out)
		}
	case []any:
		for i, child := range x {
			flatten(fmt.Sprintf("%s_%d", prefix, i), child, out)
		}
	case string:
		out[prefix] = x
	case nil:
		out[prefix] = ""
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}

// accessRecord lists what was fetched, by name, provider and version, for
// auditing: on stderr, and in the job summary inside GitHub Actions.
func accessRecord(opts *FetchOptions, resolved []provider.Secret, step *ghactions.Step) {
	now := time.Now
	if opts.Secrets.Now != nil {
		now = opts.Secrets.Now
	}
	var md strings.Builder
	md.WriteString("### secretgate: secrets fetched\n\n| name | provider | secret | version | stages | created |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, s := range resolved {
		m := s.Meta
		line := fmt.Sprintf("secretgate: fetched %s from %s", s.Name, cmp.Or(m["provider"], "environment"))
		if m["name"] != "" {
			line += " " + m["name"]
		}
		switch {
		case m["version_id"] != "" && m["stages"] != "":
			line += fmt.Sprintf(" (version %s, stages %s)", m["version_id"], m["stages"])
		case m["version_id"] != "":
			line += fmt.Sprintf(" (version %s)", m["version_id"])
		}
		created := ""
		if !s.Created.IsZero() {
			created = fmt.Sprintf("%s (%s old)", s.Created.UTC().Format(time.DateOnly), formatAge(now().Sub(s.Created)))
			line += ", created " + created
		}
		fmt.Fprintln(opts.IO.Err, line)
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %s |\n", report.Cell(s.Name), report.Cell(cmp.Or(m["provider"], "environment")),
			report.Cell(m["name"]), report.Cell(m["version_id"]), report.Cell(m["stages"]), report.Cell(created))
	}
	if step.InActions() && opts.Getenv("GITHUB_STEP_SUMMARY") != "" {
		if err := step.AppendSummary(md.String()); err != nil {
			warner(opts.IO.Err)(fmt.Errorf("writing the job summary: %w", err)) // the secrets are delivered
		}
	}
}
