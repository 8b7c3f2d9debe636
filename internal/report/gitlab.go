package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// GitLabSchemaVersion is the secret detection report schema written.
const GitLabSchemaVersion = "15.2.1"

type gitlabReport struct {
	Version         string       `json:"version"`
	Scan            gitlabScan   `json:"scan"`
	Vulnerabilities []gitlabVuln `json:"vulnerabilities"`
	Remediations    []any        `json:"remediations"`
}

type gitlabScan struct {
	Analyzer  gitlabTool `json:"analyzer"`
	Scanner   gitlabTool `json:"scanner"`
	Type      string     `json:"type"`
	StartTime string     `json:"start_time"`
	EndTime   string     `json:"end_time"`
	Status    string     `json:"status"`
}

type gitlabTool struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	URL     string       `json:"url"`
	Version string       `json:"version"`
	Vendor  gitlabVendor `json:"vendor"`
}

type gitlabVendor struct {
	Name string `json:"name"`
}

type gitlabVuln struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Severity    string             `json:"severity"`
	Solution    string             `json:"solution"`
	Identifiers []gitlabIdentifier `json:"identifiers"`
	Location    gitlabLocation     `json:"location"`
}

type gitlabIdentifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
}

type gitlabLocation struct {
	File      string       `json:"file"`
	StartLine int          `json:"start_line,omitempty"`
	Commit    gitlabCommit `json:"commit"`
}

type gitlabCommit struct {
	SHA string `json:"sha"`
}

const gitlabTime = "2006-01-02T15:04:05"

// GitLab writes a gl-secret-detection-report.json that GitLab's security
// widget reads (schema 15.2.1). Nothing in it holds the secret; there is no
// raw_source_code_extract.
func GitLab(w io.Writer, r *Report) error {
	tool := gitlabTool{
		ID: "secretgate", Name: "secretgate", URL: "https://github.com/secretgate/secretgate",
		Version: cmp.Or(r.Version, "dev"), Vendor: gitlabVendor{Name: "secretgate"},
	}
	status := "success"
	if len(r.Incomplete) > 0 {
		status = "failure"
	}
	doc := gitlabReport{
		Version: GitLabSchemaVersion,
		Scan: gitlabScan{
			Analyzer: tool, Scanner: tool, Type: "secret_detection", Status: status,
			StartTime: r.Start.UTC().Format(gitlabTime), EndTime: r.End.UTC().Format(gitlabTime),
		},
		Vulnerabilities: []gitlabVuln{},
		Remediations:    []any{},
	}
	sha := cmp.Or(r.CommitSHA, "0000000")
	for _, f := range r.Findings {
		file, member := ArtifactPath(f)
		idType := "gitleaks_rule_id"
		if strings.HasPrefix(f.Rule, "known:") {
			idType = "secretgate_known_value"
		}
		where := file
		if member != "" {
			where += "!" + member
		}
		v := gitlabVuln{
			ID:          vulnID(f.Fingerprint, where, f.Line),
			Name:        f.Rule,
			Description: fmt.Sprintf("%s (%s) in %s", describe(f), f.Redacted, where),
			Severity:    "Critical",
			Solution:    "Remove the secret, rotate it (treat it as leaked), and load it at run time from a secrets manager.",
			Location:    gitlabLocation{File: file, StartLine: max(1, f.Line), Commit: gitlabCommit{SHA: cmp.Or(f.Commit, sha)}},
		}
		// GitLab keys a finding on its first identifier, file and lines:
		// findings in archives and images share the outer file, so the
		// first identifier names the place inside it, and the rule follows.
		id := vulnID(f.Fingerprint, where, f.Line)
		if member != "" || f.Line == 0 {
			v.Identifiers = append(v.Identifiers, gitlabIdentifier{Type: "secretgate_location", Name: "secretgate finding at " + where, Value: id})
		}
		v.Identifiers = append(v.Identifiers, gitlabIdentifier{Type: idType, Name: "secretgate rule " + f.Rule, Value: f.Rule})
		if member != "" {
			v.Location.StartLine = 1 // the outer file's; the member's line is in the description
			if f.Line > 0 {
				v.Description += fmt.Sprintf(" at line %d", f.Line)
			}
		}
		doc.Vulnerabilities = append(doc.Vulnerabilities, v)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// vulnID is a stable, UUID-shaped id for one finding at one place.
func vulnID(fingerprint, where string, line int) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", fingerprint, where, line)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
