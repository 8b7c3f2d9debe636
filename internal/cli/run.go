package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/secretgate/secretgate/internal/scrub"
	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/known"
)

// RunOptions is what `secretgate run` was asked to do.
type RunOptions struct {
	Secrets    SecretOptions
	Mask       string
	FailOnLeak bool
	Rules      bool
	Command    []string

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
	cmd.Flags().StringVar(&opts.Mask, "mask", scrub.DefaultMask, "what replaces each secret")
	cmd.Flags().BoolVar(&opts.FailOnLeak, "fail-on-leak", false, "exit 1 if the command succeeded but printed a secret (a failed command's own status wins)")
	cmd.Flags().BoolVar(&opts.Rules, "rules", false, "also mask, line by line, what the gitleaks rules match (tokens nobody declared)")
	return cmd
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

	c := child{argv: opts.Command, env: env, io: opts.IO, matcher: m, mask: opts.Mask}
	if opts.Rules {
		if c.rules, err = defaultRules(ctx); err != nil {
			return &exitError{code: ExitError, err: err}
		}
	}
	res, err := runScrubbed(c)
	if err != nil {
		return err
	}
	code := res.code
	leaks := leakReport(m, res.counts...)
	if res.ruleMasks > 0 {
		leaks = strings.TrimPrefix(leaks+fmt.Sprintf(", %s matched by gitleaks rules", plural(res.ruleMasks, "token")), ", ")
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

// child is a process to run with its output scrubbed.
type child struct {
	argv    []string
	env     []string
	io      IO
	matcher *known.Matcher
	mask    string
	extra   []*os.File       // passed as file descriptors 3, 4, ...
	rules   scanner.Detector // when set, also masks what it finds, line by line
}

// childResult is how a child ended.
type childResult struct {
	code      int     // its exit status, or 128+N when killed by signal N
	counts    [][]int // masked runs per secret, on stdout and on stderr
	ruleMasks int     // tokens masked because a rule matched them
}

// runScrubbed starts c with its stdout and stderr passed through
// scrubbers, passes INT, TERM and HUP on to it, and waits for it.
func runScrubbed(c child) (childResult, error) {
	outW, errW := c.io.Out, c.io.Err
	var lines []*scrub.Lines
	if c.rules != nil {
		lo, le := scrub.NewLines(outW, c.rules, c.mask), scrub.NewLines(errW, c.rules, c.mask)
		lines = []*scrub.Lines{lo, le}
		outW, errW = lo, le
	}
	stdout := scrub.New(outW, c.matcher, c.mask)
	stderr := scrub.New(errW, c.matcher, c.mask)
	cmd := exec.Command(c.argv[0], c.argv[1:]...)
	cmd.Env = c.env
	cmd.Stdin = c.io.In
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.ExtraFiles = c.extra
	if err := cmd.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return childResult{}, &exitError{code: code, err: fmt.Errorf("running %q: %w", c.argv[0], errors.Unwrap(err))}
	}
	for _, f := range c.extra {
		f.Close() // the child has its own copies
	}

	// Pass signals on to the child; it decides whether to stop.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	waitErr := cmd.Wait()
	close(done)
	flushErr := errors.Join(stdout.Close(), stderr.Close())
	res := childResult{counts: [][]int{stdout.Counts(), stderr.Counts()}}
	for _, l := range lines {
		flushErr = errors.Join(flushErr, l.Close())
		res.ruleMasks += l.Masked()
	}

	var exitErr *exec.ExitError
	switch {
	case errors.As(waitErr, &exitErr):
		status, _ := exitErr.Sys().(syscall.WaitStatus)
		if status.Signaled() {
			fmt.Fprintf(c.io.Err, "secretgate: %s was killed by signal %s\n", c.argv[0], signalName(status.Signal()))
			res.code = 128 + int(status.Signal())
		} else {
			res.code = exitErr.ExitCode()
		}
	case waitErr != nil:
		return res, &exitError{code: ExitError, err: fmt.Errorf("running %q: %w", c.argv[0], waitErr)}
	}
	if flushErr != nil {
		return res, &exitError{code: ExitError, err: fmt.Errorf("writing the output of %q: %w", c.argv[0], flushErr)}
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

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return s.String()
}
