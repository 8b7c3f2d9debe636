// Package report writes scan results in the formats people and CI systems
// read. Every format shows findings redacted: no report ever holds a secret.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/secretgate/secretgate/scanner"
)

// Version is the version of the JSON findings format.
const Version = 1

// Report is what a scan produced.
type Report struct {
	Findings []scanner.Finding
	Stats    scanner.Stats
	// Incomplete names targets or members that were not fully scanned.
	Incomplete []string
}

// Formats lists the formats Write knows, in the order help shows them.
var Formats = []string{"text", "json"}

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
	Incomplete []string `json:"incomplete,omitempty"`
}

// JSON writes the stable, versioned findings document.
func JSON(w io.Writer, r *Report) error {
	doc := jsonReport{Version: Version, Findings: r.Findings, Stats: jsonStats{r.Stats, r.Incomplete}}
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
	if doc.Version != Version {
		return nil, fmt.Errorf("findings format version %d, want %d", doc.Version, Version)
	}
	return &Report{Findings: doc.Findings, Stats: doc.Stats.Stats, Incomplete: doc.Stats.Incomplete}, nil
}
