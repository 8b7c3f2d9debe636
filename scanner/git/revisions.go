package git

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// revisions is what `git log` walks.
type revisions struct {
	args []string
	all  bool // every ref: a shallow clone leaves history out
	why  string
}

const zeroSHA = "0000000000000000000000000000000000000000"

// revisions picks the commits to scan: --log-opts as given; --since-commit
// as REV..HEAD for every ref; inside a pre-push hook the commits pushed;
// inside CI the commits the pull or merge request or the push adds; else
// every commit reachable from any ref. A base commit the clone does not
// have is an error naming the setting that fetches it: a shallow clone is
// never taken for less history silently.
func (s *Source) revisions(ctx context.Context) (revisions, error) {
	env := s.opts.Getenv
	switch {
	case len(s.opts.LogOpts) > 0:
		for _, a := range s.opts.LogOpts {
			for _, bad := range []string{"--output", "--format", "--pretty", "--oneline", "-p", "--patch", "-z", "--stat", "--name-only", "--name-status"} {
				if a == bad || strings.HasPrefix(a, bad+"=") {
					return revisions{}, fmt.Errorf("--log-opts: %s changes what git log writes; give a revision range and limiting options", bad)
				}
			}
		}
		return revisions{args: s.opts.LogOpts, all: true, why: "--log-opts"}, nil
	case s.opts.SinceCommit != "":
		if err := s.have(ctx, s.opts.SinceCommit, "--since-commit"); err != nil {
			return revisions{}, err
		}
		return revisions{args: []string{"--all", "--not", s.opts.SinceCommit}, why: "--since-commit"}, nil
	case env("PRE_COMMIT_FROM_REF") != "" && env("PRE_COMMIT_TO_REF") != "":
		from, to := env("PRE_COMMIT_FROM_REF"), env("PRE_COMMIT_TO_REF")
		if from == zeroSHA { // a new branch: what no remote has yet
			return revisions{args: []string{to, "--not", "--remotes"}, why: "the pushed commits (pre-push)"}, nil
		}
		return s.between(ctx, from, to, "the pushed commits (pre-push)", "")
	case env("GITHUB_ACTIONS") == "true" && env("GITHUB_EVENT_PATH") != "":
		return s.github(ctx)
	case env("GITLAB_CI") != "" || env("CI_MERGE_REQUEST_DIFF_BASE_SHA") != "":
		// GITLAB_CI is "true" in GitLab, "false" in gitlab-ci-local, which
		// sets the same commit variables.
		hint := "set GIT_DEPTH: 0 (or a depth that reaches it) in the job's variables"
		if base := env("CI_MERGE_REQUEST_DIFF_BASE_SHA"); base != "" {
			return s.between(ctx, base, "HEAD", "the merge request's commits", hint)
		}
		if before := env("CI_COMMIT_BEFORE_SHA"); before != "" && before != zeroSHA {
			return s.between(ctx, before, "HEAD", "the pushed commits", hint)
		}
		return revisions{args: []string{"HEAD"}, all: true, why: "the new branch"}, nil
	}
	return revisions{args: []string{"--all"}, all: true, why: "every ref"}, nil
}

// github reads the event that started the workflow.
func (s *Source) github(ctx context.Context) (revisions, error) {
	env := s.opts.Getenv
	data, err := os.ReadFile(env("GITHUB_EVENT_PATH"))
	if err != nil {
		return revisions{}, fmt.Errorf("reading the GitHub event (GITHUB_EVENT_PATH): %w", err)
	}
	var ev struct {
		Before, After string
		PullRequest   *struct {
			Base, Head struct{ SHA string }
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return revisions{}, fmt.Errorf("reading the GitHub event (GITHUB_EVENT_PATH): not JSON")
	}
	hint := "set fetch-depth: 0 on actions/checkout"
	switch {
	case ev.PullRequest != nil && ev.PullRequest.Base.SHA != "" && ev.PullRequest.Head.SHA != "":
		return s.between(ctx, ev.PullRequest.Base.SHA, ev.PullRequest.Head.SHA, "the pull request's commits", hint)
	case ev.After != "" && ev.Before != "" && ev.Before != zeroSHA:
		return s.between(ctx, ev.Before, ev.After, "the pushed commits", hint)
	case ev.After != "" && ev.After != zeroSHA:
		if err := s.have(ctx, ev.After, hint); err != nil {
			return revisions{}, err
		}
		return revisions{args: []string{ev.After}, all: true, why: "the new branch"}, nil
	}
	return revisions{args: []string{"--all"}, all: true, why: "every ref (the " + cmp.Or(env("GITHUB_EVENT_NAME"), "unknown") + " event names no commits)"}, nil
}

// between is base..head, once both are here.
func (s *Source) between(ctx context.Context, base, head, why, hint string) (revisions, error) {
	if base == zeroSHA {
		if err := s.have(ctx, head, hint); err != nil {
			return revisions{}, err
		}
		return revisions{args: []string{head}, all: true, why: why}, nil
	}
	for _, rev := range []string{base, head} {
		if err := s.have(ctx, rev, hint); err != nil {
			return revisions{}, err
		}
	}
	return revisions{args: []string{base + ".." + head}, why: why}, nil
}

// have checks that the clone holds a commit.
func (s *Source) have(ctx context.Context, rev, hint string) error {
	if _, err := s.output(ctx, "rev-parse", "--verify", "--quiet", rev+"^{commit}"); err != nil {
		msg := fmt.Sprintf("commit %s is not in this clone", rev)
		if shallow, _ := s.output(ctx, "rev-parse", "--is-shallow-repository"); shallow == "true" {
			msg += " (a shallow clone)"
		}
		if hint != "" && !strings.HasPrefix(hint, "--") {
			msg += ": " + hint
		}
		return errors.New(msg)
	}
	return nil
}
