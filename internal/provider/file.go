package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/secretgate/secretgate/internal/secretref"
)

// MaxFileSize bounds what ref+file reads.
const MaxFileSize = 1 << 20

// File resolves ref+file://PATH[#/yaml/pointer]: the file's content (one
// trailing newline dropped), or the scalar a pointer names in a YAML or
// JSON file.
type File struct {
	// Open opens a file by the path the reference names (os.Open, in the
	// command line; relative paths start at the working directory).
	Open func(name string) (io.ReadCloser, error)
}

var _ Provider = File{}

// Resolve implements Provider.
func (f File) Resolve(_ context.Context, refs []secretref.Ref) ([][]Value, error) {
	out := make([][]Value, len(refs))
	for i, r := range refs {
		v, err := f.resolve(r)
		if err != nil {
			return nil, fmt.Errorf("resolving %q: %w", r.Raw, err)
		}
		out[i] = []Value{{Secret: v, Meta: map[string]string{"provider": "file"}}}
	}
	return out, nil
}

func (f File) resolve(r secretref.Ref) (string, error) {
	file, err := f.Open(r.Path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxFileSize+1))
	if err != nil {
		return "", err
	}
	if len(data) > MaxFileSize {
		return "", fmt.Errorf("file is larger than %d bytes", MaxFileSize)
	}
	if r.Fragment == "" {
		s := strings.TrimSuffix(string(data), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// yaml.v3 errors quote no document content beyond line numbers.
		return "", fmt.Errorf("parsing YAML: %w", err)
	}
	return Pointer(&doc, r.Fragment)
}

// Pointer follows a JSON pointer (/a/b/0) into a YAML document and returns
// the scalar it names.
func Pointer(doc *yaml.Node, pointer string) (string, error) {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		if pointer == "/" {
			break
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == tok {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return "", fmt.Errorf("no key %q at %s", tok, pointer)
			}
			n = next
		case yaml.SequenceNode:
			idx, err := strconv.Atoi(tok)
			if err != nil || idx < 0 || idx >= len(n.Content) {
				return "", fmt.Errorf("no index %q at %s", tok, pointer)
			}
			n = n.Content[idx]
		default:
			return "", fmt.Errorf("%s goes past a scalar", pointer)
		}
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("%s is not a single value", pointer)
	}
	return n.Value, nil
}
