// Package report writes scan results in the formats people and CI systems
// read. Every format shows findings redacted: no report ever holds a secret.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/secretgate/secretgate/scanner"
)

// Version is the version of the JSON findings format: 2 since
// fingerprints are keyed (scanner.Fingerprint); version 1 documents are
// still read, as baselines whose fingerprints no longer match.
const Version = 2

// Report is what a scan produced.
type Report struct {
	Findings []scanner.Finding
	Stats    scanner.Stats
	// Incomplete names targets or members that were not fully scanned.
	Incomplete []string
	// Baselined counts findings left out because a baseline or an ignore
	// file lists their fingerprints.
	Baselined int
	// FormatVersion is the version of a document ReadJSON read.
	FormatVersion int

	// Context for the CI formats.
	Targets    []string // as the user named them
	Root       string   // the absolute directory the scan ran in (SARIF's %SRCROOT%)
	Start, End time.Time
	Version    string // secretgate's version
	CommitSHA  string // the commit scanned (GitLab's CI_COMMIT_SHA), if known
	// RepositoryURI is the repository's address (GitHub's or GitLab's
	// server and project), for SARIF's versionControlProvenance.
	RepositoryURI string
}

// Formats lists the formats Write knows, in the order help shows them.
var Formats = []string{"text", "json", "sarif", "gitlab", "junit"}

// Options changes how reports look.
type Options struct {
	// Color adds ANSI colour to the text format.
	Color bool
}

// Write writes r to w in format.
func Write(w io.Writer, format string, r *Report, opts Options) error {
	switch format {
	case "text":
		return Text(w, r, opts.Color)
	case "json":
		return JSON(w, r)
	case "sarif":
		return SARIF(w, r)
	case "gitlab":
		return GitLab(w, r)
	case "junit":
		return JUnit(w, r)
	}
	return fmt.Errorf("unknown report format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// Known reports whether format is one Write knows.
func Known(format string) bool { return slices.Contains(Formats, format) }

type jsonReport struct {
	Version  int               `json:"version"`
	Findings []scanner.Finding `json:"findings"`
	Stats    jsonStats         `json:"stats"`
}

type jsonStats struct {
	scanner.Stats
	Baselined  int      `json:"baselined,omitempty"`
	Incomplete []string `json:"incomplete,omitempty"`
}

// JSON writes the stable, versioned findings document.
func JSON(w io.Writer, r *Report) error {
	doc := jsonReport{Version: Version, Findings: r.Findings, Stats: jsonStats{r.Stats, r.Baselined, r.Incomplete}}
	if doc.Findings == nil {
		doc.Findings = []scanner.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// ReadJSON reads a document JSON wrote, as a baseline.
func ReadJSON(rd io.Reader) (*Report, error) {
	var doc jsonReport
	if err := json.NewDecoder(rd).Decode(&doc); err != nil {
		return nil, err
	}
	if doc.Version < 1 || doc.Version > Version {
		return nil, fmt.Errorf("findings format version %d, want 1 to %d", doc.Version, Version)
	}
	return &Report{Findings: doc.Findings, Stats: doc.Stats.Stats, Incomplete: doc.Stats.Incomplete, FormatVersion: doc.Version}, nil
}

// Rule is a rule that has findings, for the formats that describe rules.
type Rule struct {
	ID, Description string
}

// Rules returns the rules the findings name, sorted by id.
func (r *Report) Rules() []Rule {
	seen := map[string]string{}
	for _, f := range r.Findings {
		if _, ok := seen[f.Rule]; !ok {
			seen[f.Rule] = f.Description
		}
	}
	out := make([]Rule, 0, len(seen))
	for id, d := range seen {
		out = append(out, Rule{id, d})
	}
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ArtifactPath returns the path of a finding relative to where the scan
// ran (the repository root in CI): the target joined to the path when the
// target is a directory; for an archive member the archive, for an image
// the image's file (docker-archive:, oci-archive:, oci:) or its escaped
// reference (docker://, docker-daemon:). member is what follows the first
// "!", if anything.
func ArtifactPath(f scanner.Finding) (file, member string) {
	p := f.Path
	if t := strings.TrimPrefix(f.Target, "git:"); t != "" && t != "." && t != "-" && !strings.HasPrefix(p, t) {
		p = path.Join(t, p) // a file, or a blob of git:DIR's history, under its target
	}
	file, member, _ = strings.Cut(p, "!")
	for _, prefix := range []string{"docker-archive:", "oci-archive:", "oci:", "docker://", "docker-daemon:"} {
		rest, ok := strings.CutPrefix(file, prefix)
		if !ok {
			continue
		}
		switch prefix {
		case "oci:":
			rest, _, _ = strings.Cut(rest, ":") // oci:DIR:REF
		case "docker://", "docker-daemon:":
			rest = "image/" + url.PathEscape(rest)
		}
		file = rest
		break
	}
	if file != "-" {
		file = strings.TrimPrefix(path.Clean(file), "./")
	}
	return file, member
}
