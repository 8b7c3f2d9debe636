// Package deliver hands resolved secrets to the next step: GitHub Actions
// step outputs and environment (masked first, written with file commands
// of its own), an env file for one GitLab job, a Helm values file, or JSON.
// Every delivery is built whole before anything is written, and writes
// with one call, so a failure leaves nothing half-delivered.
package deliver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/sethvargo/go-githubactions"
	"gopkg.in/yaml.v3"

	"github.com/secretgate/secretgate/scanner/known"
)

// Secret is a named value to deliver. Also holds other forms to mask.
type Secret struct {
	Name, Value string
	Also        []string
}

// Masks returns what to register with ::add-mask:: for secrets: each value,
// each trimmed line of a multi-line value, the extra forms the secret
// takes (raw bytes of a binary secret), and every encoded form from
// scanner/known. GitHub's runner derives a few encodings of each mask
// itself (standard base64, JSON, XML, URI data), but not URL-safe or
// newline-suffixed base64 or hex; and runners that follow GitHub's
// semantics (act, Gitea's, Forgejo's) derive none, so every form is
// registered. Forms shorter than minLen are left out.
func Masks(secrets []Secret, minLen int) []string {
	ks := make([]known.Secret, 0, len(secrets))
	for _, s := range secrets {
		ks = append(ks, known.Secret{Name: s.Name, Value: s.Value})
		for _, a := range s.Also {
			ks = append(ks, known.Secret{Name: s.Name, Value: a})
		}
	}
	forms, _ := known.Forms(ks, minLen)
	seen := map[string]bool{}
	var out []string
	for _, f := range forms {
		t := string(f.Text)
		if seen[t] || strings.TrimSpace(t) == "" {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

// AddMasks writes an ::add-mask:: command for each mask to w (the step's
// standard output), escaped as the runner reads them.
func AddMasks(w io.Writer, masks []string) (err error) {
	defer func() {
		if p := recover(); p != nil { // go-githubactions panics on write errors
			err = fmt.Errorf("writing masks: %v", p)
		}
	}()
	a := githubactions.New(githubactions.WithWriter(w))
	for _, m := range masks {
		a.AddMask(m)
	}
	return nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are variables a step must not set through GITHUB_ENV: they
// change how the runner or every later process behaves.
var reservedEnv = regexp.MustCompile(`^(?i:GITHUB_.*|RUNNER_.*|ACTIONS_.*|NODE_OPTIONS|NODE_PATH|LD_PRELOAD|LD_LIBRARY_PATH|DYLD_.*|BASH_ENV|ENV|PATH|HOME|SHELL|IFS|PS4|PYTHONPATH|PYTHONSTARTUP|PERL5OPT|RUBYOPT|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|GIT_.*)$`)

// FileCommands returns the content GitHub's GITHUB_OUTPUT or GITHUB_ENV
// file takes for secrets: NAME<<DELIMITER, the value, DELIMITER, with a
// random delimiter per value checked not to occur in it. (go-githubactions
// uses one fixed delimiter, which a value can contain to inject outputs.)
// For the environment, names the runner relies on are refused.
func FileCommands(secrets []Secret, env bool) ([]byte, error) {
	var b bytes.Buffer
	for _, s := range secrets {
		if !envName.MatchString(s.Name) {
			return nil, fmt.Errorf("secret %s: not a valid output or variable name (letters, digits, _)", s.Name)
		}
		if env && reservedEnv.MatchString(s.Name) {
			return nil, fmt.Errorf("secret %s: refusing to set %s through GITHUB_ENV: it changes how the runner or later steps run", s.Name, s.Name)
		}
		delim, err := delimiter(s.Value)
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", s.Name, delim, s.Value, delim)
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
		if !strings.Contains(value, d) {
			return d, nil
		}
	}
	return "", errors.New("the value holds every delimiter tried")
}

// AppendFile appends data to a file the runner created, in one write.
func AppendFile(path string, data []byte) error {
	if path == "" {
		return errors.New("the runner's file command variable is not set (not inside GitHub Actions?)")
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// EnvFile returns a file for `source` in a shell: export NAME='value'.
func EnvFile(secrets []Secret) ([]byte, error) {
	var b bytes.Buffer
	for _, s := range secrets {
		if !envName.MatchString(s.Name) {
			return nil, fmt.Errorf("secret %s: not a valid variable name (letters, digits, _)", s.Name)
		}
		fmt.Fprintf(&b, "export %s='%s'\n", s.Name, strings.ReplaceAll(s.Value, "'", `'\''`))
	}
	return b.Bytes(), nil
}

// JSON returns {"NAME": "value", ...}, names sorted.
func JSON(secrets []Secret) ([]byte, error) {
	m := make(map[string]string, len(secrets))
	for _, s := range secrets {
		m[s.Name] = s.Value
	}
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// HelmValues returns a YAML values document where each secret's dotted
// name is its path: secret.dbPassword=... becomes secret: {dbPassword: ...}.
func HelmValues(secrets []Secret) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	sorted := append([]Secret(nil), secrets...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, s := range sorted {
		if err := setPath(root, strings.Split(s.Name, "."), s.Value); err != nil {
			return nil, fmt.Errorf("secret %s: %w", s.Name, err)
		}
	}
	return yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
}

// setPath sets a dotted path in a YAML mapping to a string value.
func setPath(n *yaml.Node, path []string, value string) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != path[0] {
			continue
		}
		next := n.Content[i+1]
		if len(path) == 1 || next.Kind != yaml.MappingNode {
			return errors.New("the path is set twice, or both as a value and as a parent")
		}
		return setPath(next, path[1:], value)
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	if len(path) == 1 {
		v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: yaml.DoubleQuotedStyle}
		n.Content = append(n.Content, k, v)
		return nil
	}
	child := &yaml.Node{Kind: yaml.MappingNode}
	n.Content = append(n.Content, k, child)
	return setPath(child, path[1:], value)
}

// WritePrivate creates path exclusively with mode 0600 and writes data in
// one call; on any failure the file is removed.
func WritePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
