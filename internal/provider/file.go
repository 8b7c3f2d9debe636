package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
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

// Resolve implements Provider. Each file is read and parsed once, however
// many references name it.
func (f File) Resolve(_ context.Context, refs []secretref.Ref) ([][]Secret, error) {
	out := make([][]Secret, len(refs))
	files := map[string]*parsedFile{}
	for i, r := range refs {
		pf, ok := files[r.Path]
		if !ok {
			pf = f.read(r.Path)
			files[r.Path] = pf
		}
		v, err := pf.value(r.Fragment)
		if err != nil {
			return nil, fmt.Errorf("resolving %q: %w", r.Raw, err)
		}
		out[i] = []Secret{{Value: v, Meta: map[string]string{"provider": "file"}}}
	}
	return out, nil
}

// parsedFile is a file's content, and its YAML document once parsed.
type parsedFile struct {
	data    []byte
	err     error
	doc     *yaml.Node
	docErr  error
	decoded bool
}

func (f File) read(path string) *parsedFile {
	file, err := f.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &parsedFile{err: err}
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, MaxFileSize+1))
	if err != nil {
		return &parsedFile{err: err}
	}
	if len(data) > MaxFileSize {
		return &parsedFile{err: fmt.Errorf("file is larger than %d bytes", MaxFileSize)}
	}
	return &parsedFile{data: data}
}

func (p *parsedFile) value(pointer string) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if pointer == "" {
		s := strings.TrimSuffix(string(p.data), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
	if !p.decoded {
		p.decoded = true
		var doc yaml.Node
		if err := yaml.Unmarshal(p.data, &doc); err != nil {
			p.docErr = ParseError("YAML", err)
		} else {
			p.doc = &doc
		}
	}
	if p.docErr != nil {
		return "", p.docErr
	}
	return Pointer(p.doc, pointer)
}

// ParseError is what a parser's error may say of a secret-bearing
// document: its kind and the line, never its text (parsers quote what
// they could not read: an anchor's name, a token, a key).
func ParseError(kind string, err error) error {
	if m := lineOf.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("parsing %s: line %s: not valid %s", kind, m[1], kind)
	}
	return fmt.Errorf("parsing %s: not valid %s", kind, kind)
}

var lineOf = regexp.MustCompile(`\bline (\d+)\b`)

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

// PickJSON follows a JSON pointer into a secret that is a JSON document.
// Its errors are ErrNotPicked.
func PickJSON(value, pointer string) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind == yaml.ScalarNode {
		return "", pickError{errors.New("the secret is not JSON, so #pointer cannot pick from it")}
	}
	v, err := Pointer(&doc, pointer)
	if err != nil {
		return "", pickError{err}
	}
	return v, nil
}

// ErrNotPicked is what a #pointer that names nothing in a secret is: an
// older version of a secret may have had another shape.
var ErrNotPicked = errors.New("the pointer names nothing in the secret")

type pickError struct{ error }

func (pickError) Is(target error) bool { return target == ErrNotPicked }
