package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/secretgate/secretgate/internal/ghactions"
	"github.com/secretgate/secretgate/internal/scrub"
	"github.com/secretgate/secretgate/scanner/known"
)

// RunOptions is what `secretgate run` was asked to do.
type RunOptions struct {
	Secrets    SecretOptions
	Mask       string
	FailOnLeak bool
	Rules      bool
	// NoAddMask turns off ::add-mask:: lines in the command's output.
	NoAddMask bool
	Command   []string

	IO     IO
	Getenv Getenv
	// Environ is the environment the child starts from (os.Environ).
	Environ func() []string
}

func newRunCmd(stdio IO, getenv Getenv) *cobra.Command {
	opts := &RunOptions{IO: stdio, Getenv: getenv, Environ: os.Environ}
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARG]...",
		Short: "Run a command with secrets in its environment and its output scrubbed",
		Long: `Run COMMAND with each secret added to its environment under its name, and its
standard output and standard error passed through the scrubber. Standard input,
signals (INT, TERM, HUP) and the exit status pass through; a command killed by
signal N makes run exit 128+N. With --fail-on-leak, a command that succeeded
makes run exit 1 if anything was masked, naming the secrets (never their
values); a command that failed keeps its own exit status, which says more.`,
		Example: `  secretgate run --secret DB_PASSWORD=ref+envsubst://\$DB_PASSWORD -- ./migrate.sh
  secretgate run --known-env NPM_TOKEN --fail-on-leak -- npm publish`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bindEnv(cmd, getenv); err != nil {
				return err
			}
			if cmd.ArgsLenAtDash() < 0 {
				return usageError("run: put the command after --, as in: secretgate run [flags] -- COMMAND [ARG]...")
			}
			opts.Command = args[cmd.ArgsLenAtDash():]
			if len(opts.Command) == 0 {
				return usageError("run: no command after --")
			}
			return runRun(cmd.Context(), opts)
		},
	}
	addSecretFlags(cmd.Flags(), &opts.Secrets, true)
	addAgeFlags(cmd.Flags(), &opts.Secrets)
	cmd.Flags().StringVar(&opts.Mask, "mask", scrub.DefaultMask, "what replaces each secret")
	cmd.Flags().BoolVar(&opts.FailOnLeak, "fail-on-leak", false, "exit 1 if the command succeeded but printed a secret (a failed command's own status wins)")
	cmd.Flags().BoolVar(&opts.Rules, "rules", false, "also mask, line by line, tokens nobody declared: what the gitleaks rules match, URL passwords and token query parameters")
	addAddMaskFlag(cmd.Flags(), &opts.NoAddMask)
	return cmd
}

// addAddMaskFlag adds the switch that turns off ::add-mask:: lines.
func addAddMaskFlag(f *pflag.FlagSet, off *bool) {
	f.BoolVar(off, "no-add-mask-commands", false, "print ::add-mask::VALUE lines as they are, instead of masking VALUE from there on (anything that writes to the stream can add a mask, which only ever hides more)")
}

// sharedMasks is the mask set of a scrubbed stream: nil when ::add-mask::
// lines are off, so that the matcher stays fixed.
func sharedMasks(m *known.Matcher, off bool, minLength int, warn func(error)) *scrub.Masks {
	if off {
		return nil
	}
	return scrub.NewMasks(m, minLength, warn)
}

func runRun(ctx context.Context, opts *RunOptions) error {
	warn := warner(opts.IO.Err)
	resolved, err := resolveSecrets(ctx, &opts.Secrets, nil, opts.Getenv, opts.IO.Lookup, warn)
	if err != nil {
		return err
	}
	m := matcherFor(resolved, opts.Secrets.MinLength, warn)
	env := opts.Environ()
	for _, s := range resolved {
		if strings.Contains(s.Name, ".") {
			return usageError("secret %s: a dotted name cannot be an environment variable", s.Name)
		}
		env = append(env, s.Name+"="+s.Value)
	}

	masks := sharedMasks(m, opts.NoAddMask, opts.Secrets.MinLength, warn)
	if masks != nil && toRunner(opts.IO.Out, opts.Getenv) {
		// What the command asked the runner to mask, the runner still
		// masks in every later step: the command passes on, escaped as the
		// runner reads it, on the stream it came from.
		masks.Forward(func(w io.Writer, value string) error {
			step := ghactions.New(w, opts.Getenv)
			step.AddMask(value)
			return step.Err()
		})
	}
	c := scrub.Child{Argv: opts.Command, Env: env, Stdin: opts.IO.In, Stdout: opts.IO.Out, Stderr: opts.IO.Err, Matcher: m, Masks: masks, Mask: opts.Mask}
	if opts.Rules {
		r, err := defaultRules(ctx)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		c.Rules = scrub.Detectors{r, scrub.Credentials{}}
	}
	res, err := runChild(c, opts.IO.Err)
	if err != nil {
		return err
	}
	code := res.Code
	if masks != nil {
		m = masks.Matcher() // the secrets the output added too
	}
	leaks := leakReport(m, res.Counts...)
	if res.RuleMasks > 0 {
		leaks = strings.TrimPrefix(leaks+fmt.Sprintf(", %s matched by --rules", plural(res.RuleMasks, "token")), ", ")
	}
	if leaks != "" {
		fmt.Fprintf(opts.IO.Err, "secretgate: masked in the output of %s: %s\n", opts.Command[0], leaks)
		if opts.FailOnLeak && code == 0 {
			code = ExitFindings
		}
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// toRunner reports whether out is a GitHub Actions step's own output: inside
// Actions, and not redirected to a file (where a passed-on ::add-mask::
// would be a value on disk, not a command the runner reads).
func toRunner(out io.Writer, getenv Getenv) bool {
	if getenv("GITHUB_ACTIONS") != "true" {
		return false
	}
	if f, ok := out.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// runChild runs a scrubbed child, says on stderr if a signal killed it,
// and turns a start failure into the shell's exit status.
func runChild(c scrub.Child, stderr io.Writer) (scrub.Exit, error) {
	res, err := c.Run()
	var se *scrub.StartError
	switch {
	case errors.As(err, &se):
		return res, &exitError{code: se.Code, err: se.Err}
	case err != nil:
		return res, &exitError{code: ExitError, err: err}
	}
	if res.Signal != "" {
		fmt.Fprintf(stderr, "secretgate: %s was killed by signal %s\n", c.Argv[0], res.Signal)
	}
	return res, nil
}

// leakReport names each masked secret with a count, by name only.
func leakReport(m *known.Matcher, counts ...[]int) string {
	total := map[string]int{}
	for _, c := range counts {
		for i, n := range c {
			if n > 0 {
				total[m.Secrets()[i].Name] += n
			}
		}
	}
	var parts []string
	for name, n := range total {
		parts = append(parts, fmt.Sprintf("%s (%s)", name, plural(n, "time")))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
