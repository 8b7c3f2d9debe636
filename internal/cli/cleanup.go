package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// CleanupPrefix starts the names of files secretgate may leave in
// RUNNER_TEMP (an env file or values file a step asked for); cleanup, the
// GitHub action's post step, removes them.
const CleanupPrefix = "secretgate-"

func newCleanupCmd(stdio IO, getenv Getenv) *cobra.Command {
	return &cobra.Command{
		Use:   "cleanup",
		Short: "Remove the secretgate-* files left in RUNNER_TEMP (the GitHub action's post step)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			dir := getenv("RUNNER_TEMP")
			if dir == "" {
				return nil // outside GitHub Actions there is nothing of ours to remove
			}
			matches, err := filepath.Glob(filepath.Join(dir, CleanupPrefix+"*"))
			if err != nil {
				return &exitError{code: ExitError, err: err}
			}
			for _, m := range matches {
				if err := os.RemoveAll(m); err != nil {
					return &exitError{code: ExitError, err: fmt.Errorf("removing %s: %w", m, unwrapPath(err))}
				}
				fmt.Fprintf(stdio.Err, "secretgate: removed %s\n", m)
			}
			return nil
		},
	}
}
