// Package cli is secretgate's command line: one file per command, each with
// an options struct its flags fill and a run function that does the work.
// Nothing below this package reads the process environment or standard
// streams; they come in through IO and a getenv function.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFindings = 1 // findings (scan's default; see --exit-code)
	ExitError    = 2 // usage, input or provider error: the result cannot be trusted
	// ExitInterrupted is a command stopped by SIGINT or SIGTERM (128+SIGINT,
	// as a shell reports it).
	ExitInterrupted = 130
)

// IO holds the streams a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// OutTTY and ErrTTY tell whether Out and Err are terminals.
	OutTTY, ErrTTY bool
	// Lookup tells a set but empty environment variable from an unset one
	// (os.LookupEnv); nil takes "" for unset.
	Lookup LookupEnv
}

// Getenv looks up an environment variable; "" when unset.
type Getenv func(string) string

// LookupEnv looks up an environment variable and says whether it is set.
type LookupEnv func(string) (string, bool)

// version, commit and date are stamped at link time by a release:
// -ldflags "-X github.com/secretgate/secretgate/internal/cli.version=v1.2.3
// -X ...cli.commit=SHA -X ...cli.date=2026-12-02T00:00:00Z". A build
// without them reports what the Go toolchain recorded (versionLine).
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// versionLine is what `version` and `--version` print: the version, then
// the commit and build date when known.
func versionLine() string {
	c, d := commit, date
	if info, ok := debug.ReadBuildInfo(); ok && (c == "" || d == "") {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	line := "secretgate " + version
	var more []string
	if c != "" {
		more = append(more, "commit "+c)
	}
	if d != "" {
		more = append(more, "built "+d)
	}
	if len(more) > 0 {
		line += " (" + strings.Join(more, ", ") + ")"
	}
	return line
}

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error // nil: exit quietly with code
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad input from the user: exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: ExitError, err: fmt.Errorf(format, args...)}
}

// Main runs secretgate with args (without the program name) and returns
// the process exit code.
func Main(ctx context.Context, args []string, stdio IO, getenv Getenv) int {
	root := newRoot(stdio, getenv)
	if extra := getenv("SECRETGATE_ARGS"); extra != "" {
		words, err := splitWords(extra)
		if err != nil {
			printError(stdio.Err, fmt.Errorf("SECRETGATE_ARGS: %w", err))
			return ExitError
		}
		args = insertArgs(args, words)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// Go's "context canceled" says nothing to a user: a signal stopped it.
		printError(stdio.Err, errors.New("interrupted"))
		return ExitInterrupted
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printError(stdio.Err, ee.err)
		}
		return ee.code
	}
	printError(stdio.Err, err) // cobra's own: unknown flags and commands
	return ExitError
}

func printError(w io.Writer, err error) { printWithHint(w, "error", err) }

// warner returns the function that prints warnings, with their hints.
func warner(w io.Writer) func(error) {
	return func(err error) { printWithHint(w, "warning", err) }
}

func printWithHint(w io.Writer, kind string, err error) {
	fmt.Fprintf(w, "secretgate: %s: %v\n", kind, err)
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(w, "secretgate: hint: %s\n", h.Hint())
	}
}

// hinted is an error with a hint for the user.
type hinted struct {
	error
	hint string
}

func (h hinted) Hint() string  { return h.hint }
func (h hinted) Unwrap() error { return h.error }

func newRoot(stdio IO, getenv Getenv) *cobra.Command {
	root := &cobra.Command{
		Use:   "secretgate",
		Short: "Let secrets into pipelines safely, keep them out of logs, fail builds that embed them",
		Long: `secretgate lets secrets into CI/CD pipelines safely, keeps them out of logs, and
fails builds that embed them.

Every flag can also be set with an environment variable: SECRETGATE_ and the
flag name in upper case with - as _ (--exit-code: SECRETGATE_EXIT_CODE).`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version,
	}
	root.SetVersionTemplate(versionLine() + "\n") // as `secretgate version` prints it
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitError, err: err}
	})
	root.AddCommand(
		newFetchCmd(stdio, getenv),
		newHelmCmd(stdio, getenv),
		newScanCmd(stdio, getenv),
		newScrubCmd(stdio, getenv),
		newRunCmd(stdio, getenv),
		newVersionCmd(stdio),
		newCleanupCmd(stdio, getenv),
	)
	return root
}

// bindEnv sets each flag the command line left unset from its SECRETGATE_*
// variable. A repeatable flag takes one value a line.
func bindEnv(cmd *cobra.Command, getenv Getenv) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		name := EnvName(f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		values := []string{v}
		if _, repeatable := f.Value.(pflag.SliceValue); repeatable {
			values = nonEmptyLines(v)
		}
		for _, one := range values {
			if e := cmd.Flags().Set(f.Name, one); e != nil {
				err = usageError("%s: %v", name, e)
				return
			}
		}
	})
	return err
}

// EnvName returns the environment variable that stands for a flag.
func EnvName(flag string) string {
	return "SECRETGATE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// insertArgs puts extra flags after the command name and before any --,
// so that they reach the command, not the program it runs.
func insertArgs(args, extra []string) []string {
	if len(args) == 0 {
		return extra
	}
	out := append([]string{args[0]}, extra...)
	return append(out, args[1:]...)
}

// splitWords splits s into words as a POSIX shell would, with single and
// double quotes and backslashes, but no expansion of any kind.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unclosed single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("unclosed double quote")
			}
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func newVersionCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(stdio.Out, versionLine())
			return err
		},
	}
}

// Flags returns each command's flag names, for checks that the action,
// templates and README name only flags that exist.
func Flags() map[string][]string {
	root := newRoot(IO{}, func(string) string { return "" })
	out := map[string][]string{}
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) { out[c.Name()] = append(out[c.Name()], f.Name) })
	}
	return out
}
