// Package secretref parses secret references, in the syntax vals and
// helm-secrets use (ref+SCHEME://PATH[?QUERY][#FRAGMENT]), and NAME=REF
// specs.
package secretref

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
)

// Ref is a parsed reference.
type Ref struct {
	// Scheme is what follows "ref+": awssecrets, envsubst, file, ...
	Scheme string
	// Path is everything between "://" and the query: a secret name or
	// ARN, a file path, an $ENV expression.
	Path string
	// Query holds options such as region or version_stage.
	Query url.Values
	// Fragment is a JSON or YAML pointer (/a/b) into the value, or "".
	Fragment string
	// Raw is the reference as written. It names the secret, never holds it.
	Raw string
}

// String returns the reference as written.
func (r Ref) String() string { return r.Raw }

// IsRef reports whether s looks like a reference (starts with "ref+").
func IsRef(s string) bool { return strings.HasPrefix(s, "ref+") }

// Form is what a reference looks like, for messages.
const Form = "ref+SCHEME://PATH[?QUERY][#/pointer], such as ref+awssecrets://prod/db#/password"

// Parse parses a reference. Its errors never quote s: what a user typed
// where a reference belongs may be a secret value.
func Parse(s string) (Ref, error) {
	r := Ref{Raw: s}
	rest, ok := strings.CutPrefix(s, "ref+")
	if !ok {
		return Ref{}, errors.New("not a reference (want " + Form + ")")
	}
	scheme, rest, ok := strings.Cut(rest, "://")
	if !ok || scheme == "" || !schemeName.MatchString(scheme) {
		return Ref{}, errors.New("not a reference: no ref+SCHEME:// (want " + Form + ")")
	}
	r.Scheme = scheme
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		r.Fragment = rest[i+1:]
		rest = rest[:i]
		if r.Fragment != "" && !strings.HasPrefix(r.Fragment, "/") {
			return Ref{}, errors.New("the fragment must be a pointer such as #/key")
		}
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		q, err := url.ParseQuery(rest[i+1:])
		if err != nil {
			return Ref{}, errors.New("the query is not NAME=VALUE&... with %XX escapes")
		}
		r.Query = q
		rest = rest[:i]
	}
	if rest == "" {
		return Ref{}, fmt.Errorf("nothing after ref+%s://", scheme)
	}
	r.Path = rest
	return r, nil
}

var schemeName = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)

// Spec is a named reference: one --secret flag or one line of a secrets
// file.
type Spec struct {
	Name string
	Ref  Ref
	// Derived is true when Name was derived from the reference.
	Derived bool
}

// specName is what NAME may be: an environment variable name, or a dotted
// Helm values path (secret.dbPassword).
var specName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$`)

// ParseSpec parses "NAME=REF" or a bare "REF", whose name is derived (see
// DeriveName). Its errors name NAME only when it is a valid name, and never
// quote the reference: a value given where a reference belongs (NAME=$VAR,
// expanded by a shell) must not reach a log.
func ParseSpec(s string) (Spec, error) {
	s = strings.TrimSpace(s)
	if name, ref, ok := strings.Cut(s, "="); ok && !IsRef(s) {
		name = strings.TrimSpace(name)
		if !specName.MatchString(name) {
			return Spec{}, errors.New("not NAME=REF: NAME must be letters, digits and _ (or a dotted path)")
		}
		r, err := Parse(strings.TrimSpace(ref))
		if err != nil {
			return Spec{}, fmt.Errorf("secret %s: %w", name, err)
		}
		return Spec{Name: name, Ref: r}, nil
	}
	r, err := Parse(s)
	if err != nil {
		return Spec{}, fmt.Errorf("want NAME=REF or REF: %w", err)
	}
	return Spec{Name: DeriveName(r), Ref: r, Derived: true}, nil
}

var nonName = regexp.MustCompile(`[^A-Z0-9_]`)

// DeriveName names a bare reference after the last element of its pointer
// or path, upper-cased, other characters as _: ref+awssecrets://prod/db is
// DB, ref+file://s.yaml#/db/password is PASSWORD, ref+envsubst://$TOKEN is
// TOKEN.
func DeriveName(r Ref) string {
	base := r.Path
	if r.Fragment != "" && r.Fragment != "/" {
		base = r.Fragment
	}
	base = strings.TrimRight(base, "/*")
	base = path.Base(base)
	if i := strings.LastIndexByte(base, ':'); i >= 0 { // an ARN's resource part
		base = base[i+1:]
	}
	base = strings.TrimLeft(base, "${")
	base = strings.TrimRight(base, "}")
	return Normalize(base)
}

// Normalize makes a name an environment variable name: upper case, other
// characters as _, not starting with a digit.
func Normalize(s string) string {
	name := nonName.ReplaceAllString(strings.ToUpper(s), "_")
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "_" + name
	}
	return name
}
