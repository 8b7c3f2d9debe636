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

	"github.com/sethvargo/go-githubactions"
	"github.com/spf13/cobra"

	"github.com/secretgate/secretgate/internal/deliver"
	"github.com/secretgate/secretgate/internal/provider"
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
		Long: `Resolve every secret reference (AWS Secrets Manager, environment, files), all or
nothing, and deliver the values:

  --to github-outputs   step outputs (default inside GitHub Actions), masks first
  --to github-env       environment variables of the later steps, masks first
  --to env-file=PATH    a 0600 file of export NAME='value' lines, for one GitLab job
  --to helm-values=PATH a 0600 Helm values file; dotted names are paths
  --to json             a JSON object on standard output, for tools

GitLab dotenv reports are refused: their values are neither masked nor private.
An access record (names, providers, versions; never values) goes to stderr and,
inside GitHub Actions, to the job summary.`,
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
	addSecretFlags(cmd.Flags(), &opts.Secrets)
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
	resolved, err := resolveSecrets(ctx, &opts.Secrets, opts.Getenv)
	if err != nil {
		return err
	}
	secrets, err := toDeliver(resolved, opts.JSONKeys)
	if err != nil {
		return &exitError{code: ExitError, err: err}
	}
	for _, s := range secrets {
		if len(s.Value) < opts.MinMaskLength {
			fmt.Fprintf(opts.IO.Err, "secretgate: warning: secret %s is shorter than %d bytes: it is delivered, but logs cannot safely mask it\n", s.Name, opts.MinMaskLength)
		}
	}

	// Build every delivery before writing any, so that a bad name or value
	// fails the step with nothing delivered.
	type write struct {
		dest destination
		data []byte
	}
	var writes []write
	github := false
	for _, d := range dests {
		var data []byte
		switch d.kind {
		case "github-outputs", "github-env":
			github = true
			data, err = deliver.FileCommands(secrets, d.kind == "github-env")
		case "env-file":
			data, err = deliver.EnvFile(secrets)
		case "helm-values":
			data, err = deliver.HelmValues(secrets)
		case "json":
			data, err = deliver.JSON(secrets)
		}
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("--to %s: %w", d.kind, err)}
		}
		writes = append(writes, write{d, data})
	}
	if github || opts.Getenv("GITHUB_ACTIONS") == "true" {
		// Masks first, always: before any value is written anywhere.
		if err := deliver.AddMasks(opts.IO.Out, deliver.Masks(secrets, opts.MinMaskLength)); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	}
	for _, w := range writes {
		var err error
		switch w.dest.kind {
		case "github-outputs":
			w.dest.path = "GITHUB_OUTPUT " + opts.Getenv("GITHUB_OUTPUT")
			err = deliver.AppendFile(opts.Getenv("GITHUB_OUTPUT"), w.data)
		case "github-env":
			w.dest.path = "GITHUB_ENV " + opts.Getenv("GITHUB_ENV")
			err = deliver.AppendFile(opts.Getenv("GITHUB_ENV"), w.data)
		case "env-file", "helm-values":
			err = deliver.WritePrivate(w.dest.path, w.data)
		case "json":
			_, err = opts.IO.Out.Write(w.data)
		}
		if err != nil {
			target := w.dest.path
			if target == "" {
				target = w.dest.kind
			}
			return &exitError{code: ExitError, err: fmt.Errorf("delivering to %s: %w", target, unwrapPath(err))}
		}
	}
	accessRecord(opts, resolved)
	return nil
}

// toDeliver turns resolved secrets into deliveries, expanding JSON objects
// into NAME_KEY leaves when asked.
func toDeliver(resolved []provider.Secret, jsonKeys bool) ([]deliver.Secret, error) {
	var out []deliver.Secret
	seen := map[string]bool{}
	add := func(s deliver.Secret) error {
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
				if err := add(deliver.Secret{Name: name, Value: leaves[name]}); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := add(deliver.Secret{Name: s.Name, Value: s.Value, Also: s.Also}); err != nil {
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
func accessRecord(opts *FetchOptions, resolved []provider.Secret) {
	var md strings.Builder
	md.WriteString("### secretgate: secrets fetched\n\n| name | provider | secret | version | stages |\n| --- | --- | --- | --- | --- |\n")
	for _, s := range resolved {
		m := s.Meta
		line := fmt.Sprintf("secretgate: fetched %s from %s", s.Name, cmp.Or(m["provider"], "environment"))
		if m["name"] != "" {
			line += " " + m["name"]
		}
		if m["version_id"] != "" {
			line += fmt.Sprintf(" (version %s, stages %s)", m["version_id"], m["stages"])
		}
		fmt.Fprintln(opts.IO.Err, line)
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s |\n", s.Name, cmp.Or(m["provider"], "environment"), m["name"], m["version_id"], m["stages"])
	}
	if opts.Getenv("GITHUB_ACTIONS") == "true" && opts.Getenv("GITHUB_STEP_SUMMARY") != "" {
		func() {
			defer func() { _ = recover() }() // a summary that cannot be written is not worth failing for
			githubactions.New(githubactions.WithGetenv(func(k string) string { return opts.Getenv(k) })).AddStepSummary(md.String())
		}()
	}
}
