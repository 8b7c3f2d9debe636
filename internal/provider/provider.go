// Package provider resolves secret references to values. Each scheme
// (ref+envsubst, ref+file, ...) has a Provider; a Registry picks one by
// scheme, so new secret stores are added as packages without touching the
// commands that use them.
package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/secretgate/secretgate/internal/secretref"
)

// Provider resolves the references of one scheme.
type Provider interface {
	// Resolve returns one value per reference, in order. A reference that
	// cannot be resolved fails the call: secrets are all or nothing.
	Resolve(ctx context.Context, refs []secretref.Ref) ([]Value, error)
}

// Value is a resolved secret. It must never be printed or logged.
type Value struct {
	Secret string
	// Meta describes the secret for an access record (version id, stage);
	// never the value.
	Meta map[string]string
}

// Secret is a named, resolved secret.
type Secret struct {
	Name  string
	Ref   secretref.Ref
	Value string
	Meta  map[string]string
}

// Registry maps schemes to providers.
type Registry map[string]Provider

// Resolve resolves every spec, all or nothing: on any error no secret is
// returned. Names must be unique.
func (r Registry) Resolve(ctx context.Context, specs []secretref.Spec) ([]Secret, error) {
	seen := map[string]bool{}
	byScheme := map[string][]int{}
	for i, s := range specs {
		if seen[s.Name] {
			return nil, fmt.Errorf("secret %s named twice", s.Name)
		}
		seen[s.Name] = true
		if _, ok := r[s.Ref.Scheme]; !ok {
			return nil, &UnknownSchemeError{Ref: s.Ref, Known: r.schemes()}
		}
		byScheme[s.Ref.Scheme] = append(byScheme[s.Ref.Scheme], i)
	}
	out := make([]Secret, len(specs))
	var errs []error
	for _, scheme := range sortedKeys(byScheme) {
		idx := byScheme[scheme]
		refs := make([]secretref.Ref, len(idx))
		for j, i := range idx {
			refs[j] = specs[i].Ref
		}
		values, err := r[scheme].Resolve(ctx, refs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for j, i := range idx {
			out[i] = Secret{Name: specs[i].Name, Ref: specs[i].Ref, Value: values[j].Secret, Meta: values[j].Meta}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (r Registry) schemes() []string {
	var s []string
	for k := range r {
		s = append(s, "ref+"+k+"://")
	}
	sort.Strings(s)
	return s
}

func sortedKeys(m map[string][]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// UnknownSchemeError is a reference no provider handles.
type UnknownSchemeError struct {
	Ref   secretref.Ref
	Known []string
}

func (e *UnknownSchemeError) Error() string {
	return fmt.Sprintf("resolving %q: unknown scheme %q (known: %s)", e.Ref.Raw, e.Ref.Scheme, strings.Join(e.Known, ", "))
}
