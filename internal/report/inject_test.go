package report

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/ghactions"
	"github.com/secretgate/secretgate/scanner"
)

// hostile is a report whose names an attacker chose: file, member and image
// paths with newlines and workflow commands, terminal escapes, Markdown,
// spaces, # and %, absolute targets, and image targets with a REF.
func hostile() *Report {
	f := func(target, path string, line, col int, off int64) scanner.Finding {
		return scanner.Finding{Rule: "github-pat", Description: "GitHub Personal Access Token", Redacted: "ghp_****",
			Fingerprint: "0123456789abcdef", Location: scanner.Location{Target: target, Path: path, Line: line, Column: col, Offset: off}}
	}
	return &Report{
		Targets: []string{"src", "/abs/dir", "docker://registry.example:5000/team/app:1.0", "oci:/layouts/app:1.0", "app:1.0.tar"},
		Root:    "/work/repo",
		Findings: []scanner.Finding{
			f("src", "a\n::stop-commands::x\n::error::forged.env", 2, 3, 0),
			f("src", "colour\x1b[31m\x1b]0;title\x07.env", 1, 1, 0),
			f("src", "table | break\n| x | y |.md", 1, 1, 0),
			f("src", "with space #frag %41.txt", 1, 1, 0),
			f("src", "bin/tool", 0, 0, 4096),
			f("/abs/dir", "x.env", 1, 1, 0),
			f("/work/repo/sub", "y.env", 1, 1, 0),
			f("docker://registry.example:5000/team/app:1.0", "docker://registry.example:5000/team/app:1.0!/etc/a.env", 1, 1, 0),
			f("docker://registry.example:5000/team/app:1.0", "docker://registry.example:5000/team/app:1.0!/etc/b.env", 1, 1, 0),
			f("oci:/layouts/app:1.0", "oci:/layouts/app:1.0!/etc/a.env", 3, 1, 0),
			f("app:1.0.tar", "app:1.0.tar!layer.tar!etc/c.env", 1, 1, 0),
			f("src", "dist/app.jar!a.properties", 1, 1, 0),
			f("src", "dist/app.jar!b.properties", 1, 1, 0),
		},
	}
}

func TestOutputCannotBeInjected(t *testing.T) {
	r := hostile()
	var text, ann bytes.Buffer
	if err := Text(&text, r, false); err != nil {
		t.Fatal(err)
	}
	step := ghactions.New(&ann, func(string) string { return "" })
	for _, a := range Annotations(r) {
		step.Annotate(a)
	}
	for name, out := range map[string]string{"text": text.String(), "annotations": ann.String()} {
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "\x1b") || strings.Contains(line, "\x07") {
				t.Errorf("%s: a terminal escape passes: %q", name, line)
			}
			if strings.HasPrefix(line, "::") && !strings.HasPrefix(line, "::error ") {
				t.Errorf("%s: a forged workflow command: %q", name, line)
			}
		}
	}
	if got := strings.Count(ann.String(), "\n"); got != len(r.Findings) {
		t.Errorf("%d annotation lines for %d findings", got, len(r.Findings))
	}
	// The summary: a header row, a separator and one row a finding.
	summary := Summary(r)
	table := summary[strings.Index(summary, "| rule | location"):]
	rows := strings.Split(strings.TrimSpace(table), "\n")
	if len(rows) != 2+len(r.Findings) {
		t.Errorf("summary table has %d lines, want %d:\n%s", len(rows), 2+len(r.Findings), table)
	}
	for _, row := range rows {
		if cells := strings.Count(strings.ReplaceAll(row, `\|`, ""), "|"); cells != 5 {
			t.Errorf("summary row with %d cell borders, want 5: %q", cells, row)
		}
	}
}

func TestSARIFURIsAndRegions(t *testing.T) {
	var b bytes.Buffer
	if err := SARIF(&b, hostile()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					Physical struct {
						Artifact struct{ URI string } `json:"artifactLocation"`
						Region   *struct {
							StartLine  int `json:"startLine"`
							ByteOffset int `json:"byteOffset"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, res := range doc.Runs[0].Results {
		p := res.Locations[0].Physical
		u, err := url.Parse(p.Artifact.URI)
		if err != nil || u.IsAbs() || strings.HasPrefix(p.Artifact.URI, "/") || u.Fragment != "" || u.RawQuery != "" {
			t.Errorf("uri %q: %v; want a relative reference with no scheme, fragment or query", p.Artifact.URI, err)
		}
		if p.Region == nil || p.Region.StartLine < 1 {
			t.Errorf("uri %q: region %+v, want a startLine", p.Artifact.URI, p.Region)
		}
	}
	if !strings.Contains(b.String(), `"byteOffset": 4096`) {
		t.Error("the binary finding lost its byte offset")
	}
	if !strings.Contains(b.String(), `"uri": "sub/y.env"`) {
		t.Errorf("an absolute path under the root is not made relative:\n%s", b.String())
	}
	// Microsoft's validator, where CI installs it.
	tool := fixture.Tool(t, "sarif-multitool", "npm install @microsoft/sarif-multitool")
	file := filepath.Join(t.TempDir(), "hostile.sarif")
	os.WriteFile(file, b.Bytes(), 0o644)
	out, err := exec.Command(tool, "validate", file).CombinedOutput()
	if err != nil {
		t.Fatalf("sarif-multitool validate: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, ": error SARIF") {
			t.Errorf("sarif-multitool: %s", line)
		}
	}
}

// TestGitLabKeepsFindingsApart: GitLab keys a finding on its first
// identifier, file and lines; findings inside one archive or image must not
// share all three.
func TestGitLabKeepsFindingsApart(t *testing.T) {
	var b bytes.Buffer
	r := hostile()
	if err := GitLab(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vulnerabilities []struct {
			Identifiers []struct{ Type, Value string }
			Location    struct {
				File      string
				StartLine int `json:"start_line"`
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, v := range doc.Vulnerabilities {
		if v.Location.StartLine < 1 {
			t.Errorf("%s: no start_line", v.Location.File)
		}
		k := v.Identifiers[0].Type + v.Identifiers[0].Value + "\x00" + v.Location.File + "\x00" + string(rune(v.Location.StartLine))
		if keys[k] {
			t.Errorf("two findings share GitLab's key (%s, %s, %d)", v.Identifiers[0].Value, v.Location.File, v.Location.StartLine)
		}
		keys[k] = true
	}
	if len(doc.Vulnerabilities) != len(r.Findings) {
		t.Errorf("%d vulnerabilities for %d findings", len(doc.Vulnerabilities), len(r.Findings))
	}
}
