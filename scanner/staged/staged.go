// Package staged is a scan source for what a commit is about to record:
// the blobs staged in a git repository's index, read with git itself, so
// that what is scanned is what is committed, whatever the working tree says.
package staged

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/secretgate/secretgate/scanner/source"
)

// Index is the staged content of the repository at Dir.
type Index struct {
	Dir string // any directory inside the work tree; "" for the current one
}

var _ source.Source = Index{}

// Name implements source.Source.
func (Index) Name() string { return "staged" }

func (ix Index) git(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = ix.Dir
	return cmd
}

// Walk implements source.Source: every file added, copied, modified or
// renamed in the index, as staged.
func (ix Index) Walk(ctx context.Context, w source.Walker) error {
	var stderr bytes.Buffer
	cmd := ix.git(ctx, "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR", "--no-renames")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("listing staged files (git diff --cached): %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	for _, name := range strings.Split(string(out), "\x00") {
		if name == "" {
			continue
		}
		if err := w.Visit(source.Content{Path: name, FilePath: name, Open: ix.opener(ctx, name)}); err != nil {
			return err
		}
	}
	return nil
}

// opener streams the staged blob of name from `git cat-file`.
func (ix Index) opener(ctx context.Context, name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		cmd := ix.git(ctx, "cat-file", "blob", ":"+name)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("reading the staged %s: %w", name, err)
		}
		return &blob{ReadCloser: out, cmd: cmd, stderr: &stderr}, nil
	}
}

type blob struct {
	io.ReadCloser
	cmd    *exec.Cmd
	stderr *bytes.Buffer
}

func (b *blob) Close() error {
	b.ReadCloser.Close()
	if err := b.cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %v: %s", err, strings.TrimSpace(b.stderr.String()))
	}
	return nil
}
