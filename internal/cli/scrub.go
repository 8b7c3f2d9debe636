package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/secretgate/secretgate/internal/overlap"
	"github.com/secretgate/secretgate/internal/scrub"
	"github.com/secretgate/secretgate/scanner/known"
)

// ScrubOptions is what `secretgate scrub` was asked to do.
type ScrubOptions struct {
	Secrets SecretOptions
	Mask    string
	Rules   bool
	// NoAddMask turns off ::add-mask:: lines in the input.
	NoAddMask bool

	IO     IO
	Getenv Getenv
}

func newScrubCmd(stdio IO, getenv Getenv) *cobra.Command {
	opts := &ScrubOptions{IO: stdio, Getenv: getenv}
	cmd := &cobra.Command{
		Use:   "scrub",
		Short: "Copy standard input to standard output with known secrets masked",
		Long: `Copy standard input to standard output, replacing every form of every known
secret (raw, base64, hex, URL, JSON, ... see README) with a mask, however the
input is cut. Bytes that cannot begin a secret are written at once.`,
		Example: `  ./deploy.sh 2>&1 | secretgate scrub --known-env DB_PASSWORD
  secretgate scrub --secret TOKEN=ref+file://token.txt < build.log > build.clean.log`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd, getenv); err != nil {
				return err
			}
			return runScrub(cmd.Context(), opts)
		},
	}
	addSecretFlags(cmd.Flags(), &opts.Secrets, true)
	cmd.Flags().StringVar(&opts.Mask, "mask", scrub.DefaultMask, "what replaces each secret")
	cmd.Flags().BoolVar(&opts.Rules, "rules", false, "also mask, line by line, tokens nobody declared: what the gitleaks rules match, URL passwords and token query parameters")
	addAddMaskFlag(cmd.Flags(), &opts.NoAddMask)
	return cmd
}

func runScrub(ctx context.Context, opts *ScrubOptions) error {
	warn := warner(opts.IO.Err)
	m, err := loadMatcher(ctx, &opts.Secrets, opts.Getenv, opts.IO.Lookup, warn)
	if err != nil {
		return err
	}
	if m == nil && !opts.Rules {
		// As the runners do with no masks: the log passes, and the user is
		// told, since a log pipe that fails would lose the log.
		what := "the input passes through unchanged"
		if !opts.NoAddMask {
			what = "the input passes through unchanged but for what its ::add-mask:: lines add"
		}
		warn(hinted{
			errors.New("no secrets to mask: " + what),
			"name them with --secret NAME=REF, --secrets-file FILE or --known-env VAR, or mask rule matches with --rules",
		})
	}
	if m == nil {
		m = known.New(nil, nil)
	}
	// The output is written on its own goroutine, and the input read on
	// another (Writer.ReadFrom): on two cores, reading, masking and
	// writing run side by side.
	written := overlap.NewWriter(opts.IO.Out, 1<<20)
	out := io.Writer(written)
	var lines *scrub.Lines
	if opts.Rules {
		r, err := defaultRules(ctx)
		if err != nil {
			return &exitError{code: ExitError, err: err}
		}
		lines = scrub.NewLines(out, scrub.Detectors{r, scrub.Credentials{}}, opts.Mask)
		out = lines
	}
	var w *scrub.Writer
	if masks := sharedMasks(m, opts.NoAddMask, opts.Secrets.MinLength, warn); masks != nil {
		w = scrub.NewShared(out, masks, opts.Mask)
	} else {
		w = scrub.New(out, m, opts.Mask)
	}
	// The copy blocks on standard input, which no signal unblocks: it runs
	// on its own, and an interrupt ends the command at once. What the
	// scrubber holds back then (the start of what may be a secret) is
	// dropped, never written.
	copied := make(chan error, 1)
	go func() {
		_, err := w.ReadFrom(opts.IO.In)
		copied <- err
	}()
	var copyErr error
	select {
	case copyErr = <-copied:
	case <-ctx.Done():
		// The output's goroutine ends once it has written what was
		// decided; the command does not wait for it.
		go written.Close()
		return &exitError{code: ExitInterrupted, err: errors.New("scrub: interrupted")}
	}
	err = errors.Join(copyErr, w.Close())
	if lines != nil {
		err = errors.Join(err, lines.Close())
	}
	err = errors.Join(err, written.Close())
	if err != nil {
		return &exitError{code: ExitError, err: fmt.Errorf("scrubbing standard input: %w", err)}
	}
	return nil
}
