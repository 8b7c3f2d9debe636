// Package deliver hands resolved secrets to the next step: the documents
// (an env file for one GitLab job, a Helm values file, JSON; GitHub's file
// commands come from ghactions) and a Transaction that writes them to
// every destination all or nothing.
package deliver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secretgate/secretgate/internal/provider"
	"github.com/secretgate/secretgate/scanner/known"
)

// Masks returns what to register as masks for secrets: every form
// known.Forms derives from each value, its other forms (the raw bytes of
// a binary secret) and the fields of a JSON secret. GitHub's runner derives a few encodings of each mask
// itself (standard base64, JSON, XML, URI data), but not URL-safe or
// newline-suffixed base64 or hex; and runners that follow GitHub's
// semantics (act, Gitea's, Forgejo's) derive none, so every form is
// registered. Forms shorter than minLen are left out.
func Masks(secrets []provider.Secret, minLen int) []string {
	values, _ := provider.Known(secrets)
	forms, _ := known.Forms(values, minLen)
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

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// EnvFile returns a file for `source` in a shell: export NAME='value'.
func EnvFile(secrets []provider.Secret) ([]byte, error) {
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
func JSON(secrets []provider.Secret) ([]byte, error) {
	m := make(map[string]string, len(secrets))
	for _, s := range secrets {
		m[s.Name] = s.Value
	}
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// HelmValues returns a YAML values document where each secret's dotted
// name is its path: secret.dbPassword=... becomes secret: {dbPassword: ...}.
func HelmValues(secrets []provider.Secret) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	sorted := append([]provider.Secret(nil), secrets...)
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
