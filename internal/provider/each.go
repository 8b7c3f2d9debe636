package provider

import (
	"context"
	"strings"

	"github.com/secretgate/secretgate/internal/secretref"
)

// MaxList bounds how many secrets one reference ending in * may bring.
const MaxList = 1000

// ParseAll parses every reference a store is given before any is read, so
// that a bad one fails the call with nothing fetched.
func ParseAll[T any](refs []secretref.Ref, parse func(secretref.Ref) (T, error)) ([]T, error) {
	out := make([]T, len(refs))
	for i, r := range refs {
		t, err := parse(r)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// Names is what one reference names: one secret, or (Many) every secret
// under a prefix, each then named by what follows Under.
type Names struct {
	List  []string
	Under string
	Many  bool
}

// ReadAll reads what each target names, in order, for a store that reads
// one secret a call: names lists a target's secrets, read reads one.
func ReadAll[T any](ctx context.Context, targets []T, names func(context.Context, T) (Names, error), read func(context.Context, T, string) (Secret, error)) ([][]Secret, error) {
	out := make([][]Secret, len(targets))
	for i, t := range targets {
		n, err := names(ctx, t)
		if err != nil {
			return nil, err
		}
		for _, name := range n.List {
			s, err := read(ctx, t, name)
			if err != nil {
				return nil, err
			}
			if n.Many {
				s.Name = strings.TrimPrefix(name, n.Under)
			}
			out[i] = append(out[i], s)
		}
	}
	return out, nil
}
