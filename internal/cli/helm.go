package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/secretgate/secretgate/internal/deliver"
	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/internal/scrub"
	"github.com/secretgate/secretgate/internal/secretref"
)

// HelmOptions is what `secretgate helm` was asked to do.
type HelmOptions struct {
	Secrets SecretOptions
	HelmBin string
	Mask    string
	Args    []string // helm's own arguments

	IO      IO
	Getenv  Getenv
	Environ func() []string
}

func newHelmCmd(stdio IO, getenv Getenv) *cobra.Command {
	opts := &HelmOptions{IO: stdio, Getenv: getenv, Environ: os.Environ}
	cmd := &cobra.Command{
		Use:   "helm [flags] -- HELM-ARGS...",
		Short: "Run helm with the secret references in its values resolved, never in argv or a readable file",
		Long: `Run helm with every -f/--values file that holds secret references (values that
are a whole ref+...:// string, as vals and helm-secrets write them) resolved, and
every --set KEY=REF moved out of the command line. The resolved values reach helm
through pipes (-f /dev/fd/N): never argv, never a file on disk. helm's output
(--debug included) passes through the scrubber, base64 forms included, since a
Secret's data is base64.

References moved out of --set become one values document given after the -f
files, so a plain --set of the same key still wins over them.`,
		Example: `  secretgate helm -- upgrade --install web ./chart -f values.yaml -f secrets.prod.yaml
  secretgate helm -- template web ./chart --set db.password=ref+awssecrets://prod/db#/password`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd, getenv); err != nil {
				return err
			}
			if cmd.ArgsLenAtDash() < 0 {
				return usageError("helm: put helm's arguments after --, as in: secretgate helm -- upgrade --install ...")
			}
			opts.Args = args[cmd.ArgsLenAtDash():]
			return runHelm(cmd.Context(), opts)
		},
	}
	addSecretFlags(cmd.Flags(), &opts.Secrets, true)
	addAgeFlags(cmd.Flags(), &opts.Secrets)
	cmd.Flags().StringVar(&opts.HelmBin, "helm-bin", "helm", "the helm program to run")
	cmd.Flags().StringVar(&opts.Mask, "mask", scrub.DefaultMask, "what replaces each secret in helm's output")
	return cmd
}

// valuesFile is a -f file whose references were resolved.
type valuesFile struct {
	arg  int // index of the file's argument in argv
	doc  *yaml.Node
	refs []refAt
}

type refAt struct {
	node *yaml.Node
	spec secretref.Spec
}

func runHelm(ctx context.Context, opts *HelmOptions) error {
	warn := warner(opts.IO.Err)
	argv, files, sets, err := planHelm(opts.Args)
	if err != nil {
		return err
	}
	// Resolve everything at once, all or nothing: the secret flags (masked
	// only), every reference in the values files and in --set.
	var more []secretref.Spec
	n := 0
	for _, f := range files {
		for i := range f.refs {
			f.refs[i].spec.Name = fmt.Sprintf("HELM_VALUE_%d", n)
			more = append(more, f.refs[i].spec)
			n++
		}
	}
	for i := range sets {
		sets[i].spec.Name = fmt.Sprintf("HELM_SET_%d", i)
		more = append(more, sets[i].spec)
	}
	resolved, err := resolveSecrets(ctx, &opts.Secrets, more, opts.Getenv, opts.IO.Lookup, warn)
	if err != nil {
		return err
	}
	values := map[string]string{}
	for _, s := range resolved {
		values[s.Name] = s.Value
	}

	// Every document goes to helm through a pipe of its own.
	var docs [][]byte
	var extra []*os.File
	for _, f := range files {
		for _, r := range f.refs {
			r.node.Value, r.node.Tag, r.node.Style = values[r.spec.Name], "!!str", yaml.DoubleQuotedStyle
		}
		data, err := yaml.Marshal(f.doc)
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("writing the values of %s: %w", argv[f.arg], err)}
		}
		argv[f.arg] = fmt.Sprintf("/dev/fd/%d", 3+len(extra))
		docs = append(docs, data)
		extra = append(extra, nil)
	}
	if len(sets) > 0 {
		var setValues []provider.Secret
		for _, s := range sets {
			setValues = append(setValues, provider.Secret{Name: s.key, Value: values[s.spec.Name]})
		}
		data, err := deliver.HelmValues(setValues)
		if err != nil {
			return usageError("--set: %v", err)
		}
		argv = append(argv, "--values", fmt.Sprintf("/dev/fd/%d", 3+len(extra)))
		docs = append(docs, data)
		extra = append(extra, nil)
	}
	for i, data := range docs {
		r, w, err := os.Pipe()
		if err != nil {
			return &exitError{code: ExitError, err: fmt.Errorf("making a pipe for helm: %w", err)}
		}
		extra[i] = r
		go func() {
			// A write error means helm closed the pipe without reading it
			// (a command that takes no values): nothing to report.
			_, _ = w.Write(data)
			w.Close()
		}()
	}

	res, err := runChild(scrub.Child{
		Argv: append([]string{opts.HelmBin}, argv...), Env: opts.Environ(),
		Stdin: opts.IO.In, Stdout: opts.IO.Out, Stderr: opts.IO.Err,
		Matcher: matcherFor(resolved, opts.Secrets.MinLength, warn), Mask: opts.Mask, Extra: extra,
	}, opts.IO.Err)
	if err != nil {
		return err
	}
	if res.Code != 0 {
		return &exitError{code: res.Code}
	}
	return nil
}

type setRef struct {
	key  string
	spec secretref.Spec
}

// planHelm rewrites helm's arguments: it finds the values files that hold
// references, and takes the --set items that are references out of argv.
func planHelm(in []string) (argv []string, files []valuesFile, sets []setRef, err error) {
	for i := 0; i < len(in); i++ {
		a := in[i]
		var flag, value string
		switch {
		case a == "--":
			return append(argv, in[i:]...), files, sets, nil
		case a == "-f" || a == "--values" || a == "--set" || a == "--set-string":
			if i+1 >= len(in) {
				return nil, nil, nil, usageError("helm: %s needs a value", a)
			}
			flag, value = a, in[i+1]
			i++
		case strings.HasPrefix(a, "--values="), strings.HasPrefix(a, "--set="), strings.HasPrefix(a, "--set-string="):
			flag, value, _ = strings.Cut(a, "=")
		case strings.HasPrefix(a, "-f") && len(a) > 2:
			flag, value = "-f", a[2:]
		default:
			argv = append(argv, a)
			continue
		}
		if flag == "-f" || flag == "--values" {
			f, err := readValues(value, len(argv)+1)
			if err != nil {
				return nil, nil, nil, err
			}
			if f != nil {
				files = append(files, *f)
			}
			argv = append(argv, flag, value)
			continue
		}
		kept, refs, err := splitSet(value)
		if err != nil {
			return nil, nil, nil, err
		}
		sets = append(sets, refs...)
		if kept != "" {
			argv = append(argv, flag, kept)
		}
	}
	return argv, files, sets, nil
}

// readValues reads a values file and lists the references in it; nil when
// it holds none (helm reads it itself).
func readValues(path string, arg int) (*valuesFile, error) {
	if path == "-" || strings.Contains(path, "://") {
		return nil, nil // standard input and URLs: helm's own business
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("helm: values file %q: %v", path, unwrapPath(err))
	}
	if !strings.Contains(string(data), "ref+") {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, usageError("helm: values file %q: %v", path, provider.ParseError("YAML", err))
	}
	f := &valuesFile{arg: arg, doc: &doc}
	var walk func(n *yaml.Node) error
	walk = func(n *yaml.Node) error {
		if n.Kind == yaml.ScalarNode && secretref.IsRef(n.Value) {
			r, err := secretref.Parse(n.Value)
			if err != nil {
				return usageError("helm: values file %q line %d: %v", path, n.Line, err)
			}
			f.refs = append(f.refs, refAt{node: n, spec: secretref.Spec{Ref: r}})
		}
		for _, c := range n.Content {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(&doc); err != nil {
		return nil, err
	}
	if len(f.refs) == 0 {
		return nil, nil
	}
	return f, nil
}

// splitSet takes the KEY=REF items out of a --set list, keeping the rest.
func splitSet(list string) (string, []setRef, error) {
	var kept []string
	var refs []setRef
	for _, item := range splitUnescaped(list, ',') {
		key, value, ok := strings.Cut(item, "=")
		if ok && secretref.IsRef(value) {
			r, err := secretref.Parse(value)
			if err != nil {
				return "", nil, usageError("helm: --set %s: %v", key, err)
			}
			refs = append(refs, setRef{key: key, spec: secretref.Spec{Ref: r}})
			continue
		}
		kept = append(kept, item)
	}
	return strings.Join(kept, ","), refs, nil
}

// splitUnescaped splits s at sep, except where sep is escaped with \ (as
// helm's --set lists allow).
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
