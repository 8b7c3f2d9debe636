package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Failures  []junitFailure `xml:"failure"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes a JUnit XML report: one test case per target, failing with
// one failure per finding, as test-report panes (GitLab, Jenkins) show.
func JUnit(w io.Writer, r *Report) error {
	byTarget := map[string][]junitFailure{}
	targets := append([]string(nil), r.Targets...)
	for _, f := range r.Findings {
		if !slices.Contains(targets, f.Target) {
			targets = append(targets, f.Target)
		}
		file, member := ArtifactPath(f)
		where := file
		if member != "" {
			where += "!" + member
		}
		if f.Line > 0 {
			where += fmt.Sprintf(":%d:%d", f.Line, f.Column)
		}
		byTarget[f.Target] = append(byTarget[f.Target], junitFailure{
			Message: fmt.Sprintf("%s in %s", f.Rule, where),
			Type:    f.Rule,
			Text: fmt.Sprintf("%s\nrule: %s\nlocation: %s\nredacted: %s\nfingerprint: %s\n",
				describe(f), f.Rule, where, f.Redacted, f.Fingerprint),
		})
	}
	suite := junitSuite{Name: "secretgate scan", Time: fmt.Sprintf("%.3f", float64(r.Stats.DurationMS)/1000)}
	for _, t := range targets {
		fails := byTarget[t]
		suite.Cases = append(suite.Cases, junitCase{Name: t, Classname: "secretgate.scan", Failures: fails})
		suite.Tests++
		if len(fails) > 0 {
			suite.Failures++
		}
	}
	doc := junitSuites{Name: "secretgate", Tests: suite.Tests, Failures: suite.Failures, Time: suite.Time,
		Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
