package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"
)

// MaxAnnotations caps the ::error annotations one scan writes; GitHub shows
// at most 10 per step and 50 per job anyway.
const MaxAnnotations = 50

// MaxSummary keeps the job summary under GitHub's 1 MiB limit per step.
const MaxSummary = 1000 << 10

// Annotations writes a GitHub Actions ::error annotation per finding to w
// (at most MaxAnnotations, then one line that counts the rest).
func Annotations(w io.Writer, r *Report) (err error) {
	defer recoverWrite(&err) // go-githubactions panics when it cannot write
	a := githubactions.New(githubactions.WithWriter(w))
	for i, f := range r.Findings {
		if i == MaxAnnotations {
			a.Errorf("secretgate: %d more findings are not annotated; see the job summary or the report", len(r.Findings)-i)
			break
		}
		file, member := ArtifactPath(f)
		fields := map[string]string{"file": file, "title": "secretgate: " + f.Rule}
		if member == "" && f.Line > 0 {
			fields["line"] = strconv.Itoa(f.Line)
			fields["col"] = strconv.Itoa(f.Column)
		}
		where := file
		if member != "" {
			where += "!" + member
		}
		a.WithFieldsMap(fields).Errorf("%s (%s) in %s; fingerprint %s", describe(f), f.Redacted, where, f.Fingerprint)
	}
	return nil
}

// Summary returns the Markdown job summary: counts by rule and target, then
// a table of findings, redacted, cut to stay under MaxSummary.
func Summary(r *Report) string {
	var b strings.Builder
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "### secretgate: no secrets found\n\n%d files (%d bytes) scanned.\n", r.Stats.Files, r.Stats.Bytes)
		return b.String()
	}
	fmt.Fprintf(&b, "### secretgate: %d findings\n\n", len(r.Findings))
	type key struct{ rule, target string }
	counts := map[key]int{}
	var order []key
	for _, f := range r.Findings {
		k := key{f.Rule, f.Target}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	b.WriteString("| rule | target | findings |\n| --- | --- | --- |\n")
	for _, k := range order {
		fmt.Fprintf(&b, "| %s | %s | %d |\n", cell(k.rule), cell(k.target), counts[k])
	}
	b.WriteString("\n| rule | location | redacted | fingerprint |\n| --- | --- | --- | --- |\n")
	for i, f := range r.Findings {
		row := fmt.Sprintf("| %s | %s | `%s` | `%s` |\n", cell(f.Rule), cell(Where(f)), f.Redacted, f.Fingerprint)
		if b.Len()+len(row)+200 > MaxSummary {
			fmt.Fprintf(&b, "\n%d more findings are left out of this summary; see the report.\n", len(r.Findings)-i)
			break
		}
		b.WriteString(row)
	}
	if r.Baselined > 0 {
		fmt.Fprintf(&b, "\n%d findings are in the baseline or ignore file and not shown.\n", r.Baselined)
	}
	return b.String()
}

// WriteSummary appends the summary to the file GITHUB_STEP_SUMMARY names.
func WriteSummary(getenv func(string) string, r *Report) (err error) {
	defer recoverWrite(&err)
	githubactions.New(githubactions.WithGetenv(getenv)).AddStepSummary(Summary(r))
	return nil
}

func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func recoverWrite(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("writing to GitHub Actions: %v", p)
	}
}
