package scanner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Location says where a finding is.
type Location struct {
	// Target is the scan target as the user named it ("." or
	// "docker-archive:app.tar").
	Target string `json:"target"`
	// Path is relative to the target; "!" joins an archive and its member.
	Path string `json:"path"`
	// Line and Column are 1-based; zero when the finding has no position in
	// text (a path rule, or a finding in binary data, which has Offset).
	Line   int   `json:"line,omitempty"`
	Column int   `json:"column,omitempty"`
	Offset int64 `json:"offset,omitempty"`
	// Layer is the image layer digest, for findings in container images.
	Layer string `json:"layer,omitempty"`
	// Deleted marks a file a later image layer deleted.
	Deleted bool `json:"deleted,omitempty"`
	// Commit (full SHA), Author, Email and Date (RFC 3339) say which commit
	// of git history added the content, for history findings.
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	Email  string `json:"email,omitempty"`
	Date   string `json:"date,omitempty"`
}

// Finding is one secret found. It never holds the secret: only a redacted
// form and a fingerprint derived from it.
type Finding struct {
	Rule        string `json:"rule"`
	Description string `json:"description"`
	Location
	// Encoding is the form a known value was found in ("base64"); empty
	// for the raw value and for rule findings.
	Encoding string `json:"encoding,omitempty"`
	Redacted string `json:"redacted"`
	// Fingerprint identifies the finding across runs: stable when code
	// moves, new when the secret changes. See Fingerprint.
	Fingerprint string `json:"fingerprint"`

	order int // 1 + the commit's Order, for history; 0 otherwise
}

// Fingerprint identifies a finding across runs and machines without
// letting a reader of a report confirm a guess of the secret: the first 16
// hex digits of HMAC-SHA256(key, "secretgate-fingerprint-v2" NUL rule NUL
// id NUL secret), where id names the content independently of how the
// target was named (see source.Content.ID).
//
// The key is the repository's fingerprint key (a CI secret, or a key file
// kept beside the baseline and ignore files). Without one, a known value's
// fingerprint leaves the secret out, since known values are declared by
// name and may be short enough to guess (a PIN); a rule finding's keeps it,
// as rules match high-entropy tokens, but only a key makes it unguessable.
func Fingerprint(key []byte, rule, id, secret string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("secretgate-fingerprint-v2"))
	for _, s := range []string{rule, id} {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	if len(key) > 0 || !strings.HasPrefix(rule, "known:") {
		h.Write([]byte{0})
		h.Write([]byte(secret))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Redact returns what a report may show of a secret: a known token prefix
// of at most 4 characters when there is one, then "****".
func Redact(prefix string) string {
	if len(prefix) > 4 || strings.ContainsAny(prefix, "\r\n") {
		prefix = ""
	}
	return prefix + "****"
}
