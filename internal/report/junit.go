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

// JUnit writes a JUnit XML report: a suite per target, a failing test
// case per finding (Jenkins and GitLab read one failure a case), and a
// passing case for a target with no findings.
func JUnit(w io.Writer, r *Report) error {
	byTarget := map[string][]junitCase{}
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
		} else if f.Offset > 0 {
			where += fmt.Sprintf("@%d", f.Offset)
		}
		byTarget[f.Target] = append(byTarget[f.Target], junitCase{
			Name:      fmt.Sprintf("%s in %s", f.Rule, where),
			Classname: "secretgate." + f.Rule,
			Failures: []junitFailure{{
				Message: fmt.Sprintf("%s in %s", f.Rule, where),
				Type:    f.Rule,
				Text: fmt.Sprintf("%s\nrule: %s\nlocation: %s\nredacted: %s\nfingerprint: %s\n",
					describe(f), f.Rule, where, f.Redacted, f.Fingerprint),
			}},
		})
	}
	var doc junitSuites
	doc.Name = "secretgate"
	doc.Time = fmt.Sprintf("%.3f", float64(r.Stats.DurationMS)/1000)
	for _, t := range targets {
		cases := byTarget[t]
		suite := junitSuite{Name: t, Tests: len(cases), Failures: len(cases), Time: "0.000", Cases: cases}
		if len(cases) == 0 {
			suite.Tests = 1
			suite.Cases = []junitCase{{Name: "no secrets in " + t, Classname: "secretgate.scan"}}
		}
		doc.Suites = append(doc.Suites, suite)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
	}
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
