package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/secretgate/secretgate/scanner"
)

// MaxSARIFResults is GitHub code scanning's limit of results in one run;
// past it the report keeps the first ones and says how many it left out.
const MaxSARIFResults = 25000

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Results     []sarifResult     `json:"results"`
	Invocations []sarifInvocation `json:"invocations,omitempty"`
	// VersionControl names the repository whose history was scanned.
	VersionControl []sarifVCS `json:"versionControlProvenance,omitempty"`
}

type sarifVCS struct {
	RepositoryURI string `json:"repositoryUri"`
	RevisionID    string `json:"revisionId,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	ShortDescription sarifText      `json:"shortDescription"`
	FullDescription  sarifText      `json:"fullDescription"`
	Help             sarifText      `json:"help"`
	Default          sarifConfig    `json:"defaultConfiguration"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	Physical sarifPhysical          `json:"physicalLocation"`
	Logical  []sarifLogicalLocation `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	Artifact sarifArtifactLoc `json:"artifactLocation"`
	Region   *sarifRegion     `json:"region,omitempty"`
}

type sarifArtifactLoc struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine,omitempty"`
	StartColumn int `json:"startColumn,omitempty"`
	ByteOffset  int `json:"byteOffset,omitempty"`
}

type sarifLogicalLocation struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

// SARIF writes a SARIF 2.1.0 log with one run, as GitHub code scanning
// reads it. Artifact URIs are relative to %SRCROOT% (where the scan ran);
// a finding inside an archive or image points at the outer file and names
// the member as a logical location. No result holds any part of the
// secret: the message shows the redacted form only.
func SARIF(w io.Writer, r *Report) error {
	rules := r.Rules()
	index := map[string]int{}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "secretgate",
			InformationURI: "https://github.com/secretgate/secretgate",
			Version:        sarifVersion(r.Version),
			Rules:          make([]sarifRule, len(rules)),
		}},
		Results: []sarifResult{},
	}
	for i, rule := range rules {
		index[rule.ID] = i
		desc := rule.Description
		if desc == "" {
			desc = rule.ID
		}
		run.Tool.Driver.Rules[i] = sarifRule{
			ID:               rule.ID,
			Name:             ruleName(rule.ID),
			ShortDescription: sarifText{Text: desc},
			FullDescription:  sarifText{Text: desc},
			Help: sarifText{
				Text:     "Remove the secret from the file, rotate it, and load it at run time instead.",
				Markdown: "Remove the secret from the file, **rotate it** (it must be treated as leaked), and load it at run time from a secrets manager instead.",
			},
			Default:    sarifConfig{Level: "error"},
			Properties: map[string]any{"tags": []string{"security", "secret"}, "security-severity": "9.0"},
		}
	}
	findings := r.Findings
	var notes []sarifNotification
	if len(findings) > MaxSARIFResults {
		notes = append(notes, sarifNotification{Level: "warning", Message: sarifText{
			Text: fmt.Sprintf("%d findings; this report holds the first %d (GitHub's limit)", len(findings), MaxSARIFResults),
		}})
		findings = findings[:MaxSARIFResults]
	}
	for _, f := range findings {
		file, member := ArtifactPath(f)
		loc := sarifLocation{Physical: sarifPhysical{Artifact: sarifArtifactLoc{URI: artifactURI(file, r.Root), URIBaseID: "%SRCROOT%"}}}
		where := file
		// Every region has a startLine (GitHub requires one): the finding's
		// line in a file, else 1, with the byte offset of a finding in
		// binary content beside it.
		loc.Physical.Region = &sarifRegion{StartLine: 1}
		switch {
		case member != "":
			loc.Logical = []sarifLogicalLocation{{FullyQualifiedName: member, Kind: "member"}}
			where = file + "!" + member
		case f.Line > 0:
			loc.Physical.Region = &sarifRegion{StartLine: f.Line, StartColumn: f.Column}
		case f.Offset > 0:
			loc.Physical.Region.ByteOffset = int(f.Offset)
		}
		msg := fmt.Sprintf("%s: %s (%s) in %s", f.Rule, describe(f), f.Redacted, where)
		if f.Commit != "" {
			msg += fmt.Sprintf(", added in commit %s by %s on %s", f.Commit, f.Author, f.Date)
		}
		if f.Line > 0 && member != "" {
			msg += fmt.Sprintf(" at line %d", f.Line)
		}
		run.Results = append(run.Results, sarifResult{
			RuleID:              f.Rule,
			RuleIndex:           index[f.Rule],
			Level:               "error",
			Message:             sarifText{Text: msg},
			Locations:           []sarifLocation{loc},
			PartialFingerprints: map[string]string{"secretgate/v2": f.Fingerprint},
		})
	}
	if r.RepositoryURI != "" {
		for _, f := range findings {
			if f.Commit != "" {
				run.VersionControl = []sarifVCS{{RepositoryURI: r.RepositoryURI, RevisionID: r.CommitSHA}}
				break
			}
		}
	}
	run.Invocations = []sarifInvocation{{ExecutionSuccessful: len(r.Incomplete) == 0, Notifications: notes}}
	for _, inc := range r.Incomplete {
		run.Invocations[0].Notifications = append(run.Invocations[0].Notifications,
			sarifNotification{Level: "warning", Message: sarifText{Text: "not fully scanned: " + inc}})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// sarifVersion turns "v1.2.3" or "dev" into what SARIF viewers compare:
// a version that starts with a digit.
func sarifVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if v == "" || v[0] < '0' || v[0] > '9' {
		return "0.0.0-" + cmp.Or(v, "dev")
	}
	return v
}

// ruleName is a rule's SARIF name: its id in PascalCase (github-pat is
// GithubPat), since the name must differ from the id.
func ruleName(id string) string {
	var b strings.Builder
	up := true
	for _, r := range id {
		switch {
		case r == '-' || r == '_' || r == ':' || r == '.':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(r)))
			up = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// describe names what was found: the rule's description, or for a known
// value its encoding.
func describe(f scanner.Finding) string {
	d := f.Description
	if f.Encoding != "" {
		d += ", " + f.Encoding + " encoded"
	}
	return d
}

// artifactURI makes a file path a relative reference for SARIF: relative
// to root (where the scan ran) when it is absolute, each segment
// percent-encoded (a space, #, %, and : so that no first segment reads as
// a URI scheme).
func artifactURI(file, root string) string {
	if filepath.IsAbs(file) {
		if root != "" {
			if rel, err := filepath.Rel(root, file); err == nil {
				file = rel
			}
		}
		file = strings.TrimPrefix(filepath.ToSlash(file), "/")
	}
	segs := strings.Split(filepath.ToSlash(file), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return strings.Join(segs, "/")
}
