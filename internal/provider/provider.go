// Package provider resolves secret references to values. Each scheme
// (ref+envsubst, ref+file, ...) has a Provider; a Registry picks one by
// scheme, so new secret stores are added as packages without touching the
// commands that use them.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/secretgate/secretgate/internal/secretref"
	"github.com/secretgate/secretgate/scanner/known"
)

// Provider resolves the references of one scheme.
type Provider interface {
	// Resolve returns the secrets of each reference, in order: one, or for
	// a reference that names many (a prefix) one per secret, each with
	// Name set to what tells it apart under the prefix (Name is "" for a
	// single value; the Registry names them). A reference that cannot be
	// resolved fails the call: secrets are all or nothing.
	Resolve(ctx context.Context, refs []secretref.Ref) ([][]Secret, error)
}

// Secret is a named, resolved secret: the one type every command, provider
// and delivery uses. Its Value must never be printed or logged.
type Secret struct {
	Name string
	// Ref is the reference it was resolved from (empty for --known-env).
	Ref   secretref.Ref
	Value string
	// Also holds other forms the secret takes that must be masked too,
	// such as the raw bytes of a binary secret delivered as base64.
	Also []string
	// Meta describes the secret for an access record (provider, version
	// id, stage); never the value.
	Meta map[string]string
	// Created is when the store made the version resolved (zero when the
	// store does not say): what --max-age measures.
	Created time.Time
}

// Known returns the secrets as the scanner's known values: each value and
// each of its other forms under the secret's name, then, from parts on,
// the fields of secrets that are JSON documents (a store's secret is often
// {"username": ..., "password": ...}, and a script prints one field, not
// the document). Encoded forms are derived from these by known.Forms, for
// matching and for masks alike.
func Known(secrets []Secret) (out []known.Secret, parts int) {
	out = make([]known.Secret, 0, len(secrets))
	for _, s := range secrets {
		out = append(out, known.Secret{Name: s.Name, Value: s.Value})
		for _, a := range s.Also {
			out = append(out, known.Secret{Name: s.Name, Value: a})
		}
	}
	parts = len(out)
	for _, s := range secrets {
		for _, f := range fields(s.Value) {
			if f != s.Value {
				out = append(out, known.Secret{Name: s.Name, Value: f})
			}
		}
	}
	return out, parts
}

// fields returns the scalar fields of a JSON object or array, nested ones
// too, as text; nothing for any other value.
func fields(value string) []string {
	v := strings.TrimSpace(value)
	if v == "" || v[0] != '{' && v[0] != '[' {
		return nil
	}
	var doc any
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	if d.Decode(&doc) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(x[k])
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		case string:
			out = append(out, x)
		case json.Number:
			out = append(out, x.String())
		}
	}
	walk(doc)
	return out
}

// Previouser is a Provider that can also read the version each secret had
// before its current one: after a rotation, the old value may not be
// revoked yet, and an artifact that holds it still leaks.
type Previouser interface {
	// Previous returns, for each secret this provider resolved, its
	// previous version (Name and Ref as given), or nil where the store
	// keeps none.
	Previous(ctx context.Context, current []Secret) ([]*Secret, error)
}

// PreviousSuffix names a previous version: known:DB_PASSWORD@previous.
const PreviousSuffix = "@previous"

// Previous resolves the previous version of every secret whose provider
// keeps versions, named NAME@previous; unsupported lists the secrets whose
// source keeps none (the environment, a file).
func (r Registry) Previous(ctx context.Context, secrets []Secret) (prev []Secret, unsupported []string, err error) {
	byScheme := map[string][]int{}
	for i, s := range secrets {
		if _, ok := r[s.Ref.Scheme].(Previouser); !ok || s.Ref.Scheme == "" {
			unsupported = append(unsupported, s.Name)
			continue
		}
		byScheme[s.Ref.Scheme] = append(byScheme[s.Ref.Scheme], i)
	}
	var errs []error
	for _, scheme := range slices.Sorted(maps.Keys(byScheme)) {
		current := make([]Secret, len(byScheme[scheme]))
		for j, i := range byScheme[scheme] {
			current[j] = secrets[i]
		}
		got, err := r[scheme].(Previouser).Previous(ctx, current)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for j, p := range got {
			if p == nil {
				continue
			}
			p.Name, p.Ref = current[j].Name+PreviousSuffix, current[j].Ref
			prev = append(prev, *p)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return prev, unsupported, nil
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
	resolved := make([][]Secret, len(specs))
	var errs []error
	for _, scheme := range slices.Sorted(maps.Keys(byScheme)) {
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
			resolved[i] = values[j]
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []Secret
	names := map[string]string{}
	for i, values := range resolved {
		for _, v := range values {
			name := specs[i].Name
			if v.Name != "" {
				name = keyName(specs[i], v.Name)
			}
			if prev, ok := names[name]; ok {
				return nil, fmt.Errorf("secret %s named twice (by %q and %q)", name, prev, specs[i].Ref.Raw)
			}
			names[name] = specs[i].Ref.Raw
			v.Name, v.Ref = name, specs[i].Ref
			out = append(out, v)
		}
	}
	return out, nil
}

// keyName names one of many values of a spec: NAME_KEY, or KEY alone when
// the spec's name was derived from the reference.
func keyName(spec secretref.Spec, key string) string {
	k := secretref.Normalize(key)
	if spec.Derived {
		return k
	}
	return spec.Name + "_" + strings.TrimLeft(k, "_")
}

func (r Registry) schemes() []string {
	var s []string
	for k := range r {
		s = append(s, "ref+"+k+"://")
	}
	sort.Strings(s)
	return s
}

// UnknownSchemeError is a reference no provider handles.
type UnknownSchemeError struct {
	Ref   secretref.Ref
	Known []string
}

func (e *UnknownSchemeError) Error() string {
	return fmt.Sprintf("resolving %q: unknown scheme %q (known: %s)", e.Ref.Raw, e.Ref.Scheme, strings.Join(e.Known, ", "))
}
