// Package git scans a git repository's history: every blob each commit
// adds, read through one `git log` for the walk and one long-running
// `git cat-file --batch` for the blobs, never a process per blob and never
// a blob on disk. A blob is read once however many commits hold it, as the
// commit that added it first. Inside CI, with no range given, it scans the
// commits the pull request, merge request or push adds.
package git

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/secretgate/secretgate/scanner/source"
)

// Options configures a history source.
type Options struct {
	// LogOpts are `git log` arguments: a revision range and limiting
	// options, as gitleaks' --log-opts.
	LogOpts []string
	// SinceCommit scans REV..HEAD for every ref: what every ref has that
	// REV has not.
	SinceCommit string
	// Getenv reads the CI variables that name the commits a pipeline adds.
	Getenv func(string) string
	// Git is the git program ("git").
	Git string
}

// Source is the history of one repository.
type Source struct {
	target, dir string
	opts        Options
}

var _ source.Source = (*Source)(nil)

// New returns the source for git:PATH (a work tree or a bare repository).
func New(target string, opts Options) (*Source, error) {
	dir, ok := strings.CutPrefix(target, "git:")
	if !ok || dir == "" {
		return nil, fmt.Errorf("scanning %q: want git:PATH", target)
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	return &Source{target: target, dir: dir, opts: opts}, nil
}

// Name implements source.Source.
func (s *Source) Name() string { return s.target }

func (s *Source) git(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.opts.Git, append([]string{"-C", s.dir}, args...)...)
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	return cmd
}

// output runs git and returns its output, or an error with its message.
func (s *Source) output(ctx context.Context, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := s.git(ctx, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		return "", fmt.Errorf("git %s: %s", args[0], strings.TrimPrefix(cmp.Or(msg, err.Error()), "fatal: "))
	}
	return strings.TrimSpace(string(out)), nil
}

// Walk implements source.Source: the commits of the range, oldest first,
// and of each the blobs it adds or changes.
func (s *Source) Walk(ctx context.Context, w source.Walker) error {
	if _, err := s.output(ctx, "rev-parse", "--git-dir"); err != nil {
		return fmt.Errorf("scanning %q: not a git repository: %w", s.target, err)
	}
	rng, err := s.revisions(ctx)
	if err != nil {
		return fmt.Errorf("scanning %q: %w", s.target, err)
	}
	if shallow, _ := s.output(ctx, "rev-parse", "--is-shallow-repository"); shallow == "true" && rng.all {
		w.Incomplete(s.target, errors.New("a shallow clone: the history before its oldest commit is not here to scan (fetch it: fetch-depth: 0, GIT_DEPTH: 0)"))
	}
	blobs, err := newCatFile(ctx, s)
	if err != nil {
		return fmt.Errorf("scanning %q: %w", s.target, err)
	}
	defer blobs.close()

	// -c: a merge shows only what differs from every parent (what the
	// merge itself brings); -M: a rename whose content did not change
	// brings nothing new.
	args := append([]string{"log", "--reverse", "--topo-order", "-c", "-M", "--raw", "--no-abbrev", "-z",
		"--format=%x1e%H%x1f%an%x1f%ae%x1f%aI"}, rng.args...)
	cmd := s.git(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("scanning %q: %w", s.target, err)
	}
	walkErr := s.walkLog(ctx, bufio.NewReaderSize(out, 64<<10), blobs, w)
	if walkErr != nil {
		cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	if walkErr != nil {
		return walkErr
	}
	if waitErr != nil {
		msg := strings.TrimSpace(stderr.String())
		return fmt.Errorf("scanning %q: git log %s: %s", s.target, strings.Join(rng.args, " "), strings.TrimPrefix(cmp.Or(msg, waitErr.Error()), "fatal: "))
	}
	return nil
}

// walkLog reads `git log -z --raw` output: a header token per commit
// (RS SHA US author US email US date), then per changed path a token
// ":MODE MODE SHA SHA STATUS" and the path.
func (s *Source) walkLog(ctx context.Context, r *bufio.Reader, blobs *catFile, w source.Walker) error {
	seen := map[string]bool{}
	var commit *source.Commit
	order := 0
	for {
		tok, err := r.ReadString(0)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		tok = strings.TrimSuffix(strings.TrimPrefix(tok, "\n"), "\x00")
		switch {
		case strings.HasPrefix(tok, "\x1e"):
			f := strings.Split(tok[1:], "\x1f")
			if len(f) < 4 {
				return fmt.Errorf("scanning %q: unexpected git log output", s.target)
			}
			commit = &source.Commit{SHA: f[0], Author: f[1], Email: f[2], Date: f[3], Order: order}
			order++
		case strings.HasPrefix(tok, ":"):
			// ":MODE... SHA... STATUS" with one colon, mode and sha a
			// parent (a merge's combined entry has one per parent), then
			// the path, or for a rename or copy the old path and the new.
			parents := len(tok) - len(strings.TrimLeft(tok, ":"))
			fields := strings.Fields(tok[parents:])
			if len(fields) != 2*(parents+1)+1 || commit == nil {
				return fmt.Errorf("scanning %q: unexpected git log entry", s.target)
			}
			mode, blob, status := fields[parents], fields[2*parents+1], fields[len(fields)-1]
			path, err := r.ReadString(0)
			if err == nil && (status[0] == 'R' || status[0] == 'C') {
				path, err = r.ReadString(0)
			}
			if err != nil {
				return fmt.Errorf("scanning %q: git log output ends inside an entry", s.target)
			}
			path = strings.TrimSuffix(path, "\x00")
			switch {
			case status == "D" || strings.Trim(blob, "0") == "":
				continue
			case (status[0] == 'R' || status[0] == 'C') && fields[parents+1] == blob:
				continue // renamed or copied unchanged: nothing new
			case mode == "160000":
				w.Warn(fmt.Errorf("%s: %s at commit %s is a submodule (reported, not followed)", s.target, path, short(commit.SHA)))
				continue
			case seen[blob]:
				continue
			}
			seen[blob] = true
			if err := s.visitBlob(ctx, blobs, blob, path, commit, w); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// smallBlob is the size up to which a blob is read into memory and handed
// on at once; a larger one is streamed from cat-file, which waits for it.
const smallBlob = 16 << 20

func (s *Source) visitBlob(ctx context.Context, blobs *catFile, blob, path string, commit *source.Commit, w source.Walker) error {
	c := source.Content{Path: path, FilePath: path, ID: path, Commit: commit}
	size, err := blobs.request(blob)
	if err != nil {
		w.Incomplete(path+"@"+short(commit.SHA), err)
		return blobs.broken()
	}
	if size <= smallBlob {
		data := make([]byte, size)
		if err := blobs.read(data); err != nil {
			w.Incomplete(path+"@"+short(commit.SHA), err)
			return blobs.broken()
		}
		c.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		return w.Visit(c)
	}
	if err := source.VisitStream(ctx, w, c, blobs.stream(size)); err != nil {
		return err
	}
	return blobs.finish()
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// catFile is one `git cat-file --batch` serving blobs in turn.
type catFile struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	body *io.LimitedReader // the blob being streamed, if any
	err  error
}

func newCatFile(ctx context.Context, s *Source) (*catFile, error) {
	cmd := s.git(ctx, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	return &catFile{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}, nil
}

// request asks for a blob and returns its size.
func (c *catFile) request(sha string) (int64, error) {
	if c.err != nil {
		return 0, c.err
	}
	if _, err := io.WriteString(c.in, sha+"\n"); err != nil {
		c.err = fmt.Errorf("git cat-file: %w", err)
		return 0, c.err
	}
	head, err := c.out.ReadString('\n')
	if err != nil {
		c.err = fmt.Errorf("git cat-file: %w", err)
		return 0, c.err
	}
	f := strings.Fields(head)
	if len(f) == 2 && f[1] == "missing" {
		return 0, fmt.Errorf("blob %s is missing from the repository", short(sha))
	}
	if len(f) != 3 {
		c.err = fmt.Errorf("git cat-file: unexpected answer %q", strings.TrimSpace(head))
		return 0, c.err
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || size < 0 {
		c.err = fmt.Errorf("git cat-file: unexpected size in %q", strings.TrimSpace(head))
		return 0, c.err
	}
	return size, nil
}

// read reads a whole blob of len(p) bytes and its trailing newline.
func (c *catFile) read(p []byte) error {
	if _, err := io.ReadFull(c.out, p); err != nil {
		c.err = fmt.Errorf("git cat-file: %w", err)
		return c.err
	}
	if _, err := c.out.Discard(1); err != nil {
		c.err = fmt.Errorf("git cat-file: %w", err)
	}
	return c.err
}

// stream returns a reader over the next size bytes; finish reads what the
// scan left of it and the trailing newline.
func (c *catFile) stream(size int64) io.Reader {
	c.body = &io.LimitedReader{R: c.out, N: size}
	return c.body
}

func (c *catFile) finish() error {
	if c.body != nil {
		if _, err := io.Copy(io.Discard, c.body); err != nil {
			c.err = fmt.Errorf("git cat-file: %w", err)
			return c.err
		}
		c.body = nil
	}
	if _, err := c.out.Discard(1); err != nil {
		c.err = fmt.Errorf("git cat-file: %w", err)
	}
	return c.err
}

// broken returns the error that stops the walk, if cat-file cannot go on;
// nil when only that blob was missing.
func (c *catFile) broken() error { return c.err }

func (c *catFile) close() {
	c.in.Close()
	c.cmd.Process.Kill()
	c.cmd.Wait()
}
