package report

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/internal/ghactions"
	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/files"
	"github.com/secretgate/secretgate/scanner/known"
	"github.com/secretgate/secretgate/scanner/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sample is a report with each kind of location: a file, an archive member,
// an image layer file deleted later, an image config field, a known value.
func sample() *Report {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return &Report{
		Targets: []string{"src", "docker-archive:app.tar"},
		Start:   start, End: start.Add(1500 * time.Millisecond), Version: "v0.1.0", CommitSHA: "0123456789abcdef",
		Stats: scanner.Stats{Targets: 2, Files: 42, Bytes: 123456, DurationMS: 1500},
		Findings: []scanner.Finding{
			{Rule: "github-pat", Description: "GitHub Personal Access Token", Redacted: "ghp_****", Fingerprint: "0123456789abcdef",
				Location: scanner.Location{Target: "src", Path: "config/app.env", Line: 2, Column: 14}},
			{Rule: "generic-api-key", Description: "Generic API Key", Redacted: "****", Fingerprint: "1111222233334444",
				Location: scanner.Location{Target: "src", Path: "dist/app.jar!BOOT-INF/classes/application.properties", Line: 7, Column: 1}},
			{Rule: "aws-access-token", Description: "AWS access key", Redacted: "AKIA****", Fingerprint: "aaaabbbbccccdddd",
				Location: scanner.Location{Target: "docker-archive:app.tar", Path: "docker-archive:app.tar!/app/.env", Line: 1, Column: 9,
					Layer: "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", Deleted: true}},
			{Rule: "known:DB_PASSWORD", Description: "Known secret value DB_PASSWORD", Encoding: "base64", Redacted: "****",
				Fingerprint: "9999888877776666", Location: scanner.Location{Target: "docker-archive:app.tar", Path: "docker-archive:app.tar!config:Env"}},
		},
	}
}

func TestGolden(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, format, sample(), Options{}); err != nil {
				t.Fatalf("Write(%s): %v", format, err)
			}
			golden := filepath.Join("testdata", "golden", "sample."+format)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("Write(%s) differs from %s (go test -update rewrites it):\n%s", format, golden, b.String())
			}
		})
	}
}

func TestSchemas(t *testing.T) {
	for _, tt := range []struct{ format, schema string }{
		{"sarif", "sarif-schema-2.1.0.json"},
		{"gitlab", "gitlab-secret-detection-report-format.json"},
	} {
		for name, r := range map[string]*Report{"sample": sample(), "empty": {Start: time.Unix(0, 0), End: time.Unix(1, 0)}} {
			var b bytes.Buffer
			if err := Write(&b, tt.format, r, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := fixture.ValidateJSON(t, filepath.Join("testdata", "schemas", tt.schema), b.Bytes()); err != nil {
				t.Errorf("%s report (%s) does not validate against %s: %v", tt.format, name, tt.schema, err)
			}
		}
	}
}

func TestSARIFCap(t *testing.T) {
	r := sample()
	f := r.Findings[0]
	r.Findings = nil
	for range MaxSARIFResults + 10 {
		r.Findings = append(r.Findings, f)
	}
	var b bytes.Buffer
	if err := SARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), `"ruleId"`); n != MaxSARIFResults {
		t.Errorf("SARIF holds %d results, want %d", n, MaxSARIFResults)
	}
	if !strings.Contains(b.String(), "this report holds the first 25000") {
		t.Error("SARIF does not say it was cut")
	}
}

func TestAnnotationsCapAndSummary(t *testing.T) {
	r := sample()
	for len(r.Findings) < MaxAnnotations+5 {
		r.Findings = append(r.Findings, r.Findings[0])
	}
	var b bytes.Buffer
	step := ghactions.New(&b, func(string) string { return "" })
	for _, a := range Annotations(r) {
		step.Annotate(a)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != MaxAnnotations+1 {
		t.Fatalf("%d annotation lines, want %d", len(lines), MaxAnnotations+1)
	}
	if want := "::error col=14,file=src/config/app.env,line=2,title=secretgate%3A github-pat::"; !strings.HasPrefix(lines[0], want) {
		t.Errorf("first annotation = %q, want prefix %q", lines[0], want)
	}
	if !strings.Contains(lines[MaxAnnotations], "5 more findings") {
		t.Errorf("last line = %q, want the count of the rest", lines[MaxAnnotations])
	}
	if s := Summary(r); !strings.Contains(s, "| github-pat | src |") || len(s) > MaxSummary {
		t.Errorf("Summary = %q", s)
	}
}

// TestNoReportHoldsASecret scans planted secrets for real and writes every
// format: none may hold any secret, nor any encoded form of one.
func TestNoReportHoldsASecret(t *testing.T) {
	dir := t.TempDir()
	pat, aws, pw := fixture.GitHubPAT(21), fixture.AWSAccessKeyID(22), fixture.Password(23, 20)
	contents := map[string]string{
		"a.env":  "GITHUB_TOKEN=" + pat + "\nAWS=" + aws + "\n",
		"b.json": `{"password": "` + pw + `"}`,
	}
	for name, body := range contents {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := rules.Default()
	if err != nil {
		t.Fatal(err)
	}
	secrets := []known.Secret{{Name: "PW", Value: pw}, {Name: "PAT", Value: pat}}
	forms, _ := known.Forms(secrets, 6)
	res, err := scanner.Scan(context.Background(), []scanner.Source{files.Path{Root: dir}},
		[]scanner.Detector{rules.New(context.Background(), cfg, rules.Options{}), known.NewDetector(known.New(secrets, forms))},
		scanner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) < 3 {
		t.Fatalf("found %d, want the planted secrets found", len(res.Findings))
	}
	allForms, _ := known.Forms(append(secrets, known.Secret{Name: "AWS", Value: aws}), 6)
	r := &Report{Findings: res.Findings, Stats: res.Stats, Targets: []string{dir}}
	outputs := map[string]string{"summary": Summary(r)}
	var ann bytes.Buffer
	step := ghactions.New(&ann, func(string) string { return "" })
	for _, a := range Annotations(r) {
		step.Annotate(a)
	}
	outputs["annotations"] = ann.String()
	for _, format := range Formats {
		var b bytes.Buffer
		if err := Write(&b, format, r, Options{Color: true}); err != nil {
			t.Fatal(err)
		}
		outputs[format] = b.String()
	}
	for name, out := range outputs {
		for _, f := range allForms {
			if strings.Contains(out, string(f.Text)) {
				t.Errorf("the %s output holds a %q form of secret %d", name, f.Encoding, f.Secret)
			}
		}
	}
}

// TestSARIFMultitool validates SARIF with Microsoft's validator, which
// checks the rules GitHub code scanning enforces on top of the schema. CI
// installs it (npm @microsoft/sarif-multitool); elsewhere the test skips
// when it is not on PATH.
func TestSARIFMultitool(t *testing.T) {
	tool := fixture.Tool(t, "sarif-multitool", "npm install @microsoft/sarif-multitool")
	file := filepath.Join(t.TempDir(), "sample.sarif")
	var b bytes.Buffer
	if err := SARIF(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "validate", file).CombinedOutput()
	if err != nil {
		t.Fatalf("sarif-multitool validate: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Analysis completed successfully") {
		t.Fatalf("sarif-multitool did not complete:\n%s", out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, ": error SARIF") {
			t.Errorf("sarif-multitool: %s", line)
		}
	}
}
