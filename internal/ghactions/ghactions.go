// Package ghactions is the one place that speaks GitHub Actions' protocol:
// workflow commands on a step's output (masks, annotations), file commands
// (step outputs, environment, the job summary), and which environment
// names a step must not set for later ones. Workflow commands are written
// with go-githubactions, whose escaping follows the runner's toolkit,
// through a writer whose first error sticks (go-githubactions panics when a
// write fails); file commands are written here, with a random delimiter
// per value (go-githubactions uses one fixed delimiter that a value can
// contain to forge outputs).
package ghactions

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// Step writes one step's workflow commands.
type Step struct {
	getenv func(string) string
	w      *sticky
	act    *githubactions.Action
}

// New returns a Step that writes workflow commands to w (the step's
// standard output or error: the runner reads both) and finds the runner's
// files with getenv.
func New(w io.Writer, getenv func(string) string) *Step {
	s := &sticky{w: w}
	return &Step{getenv: getenv, w: s, act: githubactions.New(githubactions.WithWriter(s), githubactions.WithGetenv(getenv))}
}

// InActions reports whether the step runs inside GitHub Actions.
func (s *Step) InActions() bool { return s.getenv("GITHUB_ACTIONS") == "true" }

// Err returns the first error writing a workflow command met.
func (s *Step) Err() error { return s.w.err }

// AddMask asks the runner to mask value in every later log line.
func (s *Step) AddMask(value string) { s.act.AddMask(value) }

// Annotation is an ::error or ::warning on a file.
type Annotation struct {
	Level     string // "error", "warning" or "notice"
	File      string
	Line, Col int // 0 when not known
	Title     string
	Message   string
}

// Annotate writes an annotation. Every field is escaped as the runner
// reads workflow commands: no text in it can end the command or start
// another (::stop-commands::, a forged ::add-mask::).
func (s *Step) Annotate(a Annotation) {
	fields := map[string]string{"title": a.Title}
	if a.File != "" {
		fields["file"] = a.File
	}
	if a.Line > 0 {
		fields["line"] = strconv.Itoa(a.Line)
		if a.Col > 0 {
			fields["col"] = strconv.Itoa(a.Col)
		}
	}
	act := s.act.WithFieldsMap(fields)
	switch a.Level {
	case "warning":
		act.Warningf("%s", a.Message)
	case "notice":
		act.Noticef("%s", a.Message)
	default:
		act.Errorf("%s", a.Message)
	}
}

// AppendSummary appends Markdown to the job summary (GITHUB_STEP_SUMMARY),
// in one write, creating the file as the toolkit does.
func (s *Step) AppendSummary(markdown string) error {
	path := s.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return errors.New("GITHUB_STEP_SUMMARY is not set (not inside GitHub Actions?)")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	_, err = f.Write([]byte(markdown + "\n"))
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	return nil
}

// sticky is a writer whose first error sticks: later writes do nothing
// and report success, so go-githubactions never panics.
type sticky struct {
	w   io.Writer
	err error
}

func (s *sticky) Write(p []byte) (int, error) {
	if s.err == nil {
		_, s.err = s.w.Write(p)
	}
	return len(p), nil
}

// Value is a named value for a file command.
type Value struct{ Name, Value string }

var name = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FileCommands returns what GITHUB_OUTPUT or GITHUB_ENV takes for values:
// NAME<<DELIMITER, the value, DELIMITER, with a random delimiter per value
// checked not to occur in it. For the environment, names that change how
// the runner or later programs run are refused (see Refused) unless
// allowed says the user declared that exact name (never the runner's own).
func FileCommands(values []Value, env bool, allowed func(name string) bool) ([]byte, error) {
	var b bytes.Buffer
	for _, v := range values {
		if !name.MatchString(v.Name) {
			return nil, fmt.Errorf("%s: not a valid output or variable name (letters, digits, _)", v.Name)
		}
		if env {
			if family, refused := Refused(v.Name); refused && (family == "runner" || allowed == nil || !allowed(v.Name)) {
				return nil, fmt.Errorf("refusing to set %s through GITHUB_ENV: it is a %s variable, which changes how later steps run (declare it by that exact name with --secret %s=REF to allow it)", v.Name, family, v.Name)
			}
		}
		delim, err := delimiter(v.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", v.Name, delim, v.Value, delim)
	}
	return b.Bytes(), nil
}

func delimiter(value string) (string, error) {
	for range 8 {
		var r [16]byte
		if _, err := rand.Read(r[:]); err != nil {
			return "", err
		}
		d := "ghadelimiter_" + hex.EncodeToString(r[:])
		if !bytes.Contains([]byte(value), []byte(d)) {
			return d, nil
		}
	}
	return "", errors.New("the value holds every delimiter tried")
}

// IDTokenAvailable reports whether the runner will sign an OIDC token for
// this job: it does when the workflow grants id-token: write.
func IDTokenAvailable(getenv func(string) string) bool {
	return getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "" && getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") != ""
}

// IDToken asks the runner for the job's OIDC token for audience ("" for
// GitHub's default, the repository owner's URL).
func IDToken(ctx context.Context, getenv func(string) string, client *http.Client, audience string) (string, error) {
	act := githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithHTTPClient(client))
	tok, err := act.GetIDToken(ctx, audience)
	if err != nil && strings.HasPrefix(err.Error(), "non-successful response") {
		// The library quotes the answer's body: a status is enough.
		return "", errors.New("asking the runner for the job's OIDC token: refused (the job needs permissions: id-token: write)")
	}
	if err != nil {
		return "", fmt.Errorf("asking the runner for the job's OIDC token: %w", err)
	}
	if tok == "" {
		return "", errors.New("asking the runner for the job's OIDC token: it returned none")
	}
	return tok, nil
}
