package report

import (
	"fmt"
	"strings"

	"github.com/secretgate/secretgate/internal/ghactions"
)

// MaxAnnotations caps the ::error annotations one scan writes; GitHub shows
// at most 10 per step and 50 per job anyway.
const MaxAnnotations = 50

// MaxSummary keeps the job summary under GitHub's 1 MiB limit per step.
const MaxSummary = 1000 << 10

// Annotations returns a GitHub Actions error annotation per finding (at
// most MaxAnnotations, then one that counts the rest). ghactions writes
// them, escaped.
func Annotations(r *Report) []ghactions.Annotation {
	var out []ghactions.Annotation
	for i, f := range r.Findings {
		if i == MaxAnnotations {
			out = append(out, ghactions.Annotation{Level: "error", Title: "secretgate",
				Message: fmt.Sprintf("%d more findings are not annotated; see the job summary or the report", len(r.Findings)-i)})
			break
		}
		file, member := ArtifactPath(f)
		file, member = Printable(file), Printable(member)
		a := ghactions.Annotation{Level: "error", File: file, Title: "secretgate: " + Printable(f.Rule)}
		if member == "" && f.Line > 0 {
			a.Line, a.Col = f.Line, f.Column
		}
		where := file
		if member != "" {
			where += "!" + member
		}
		if f.Commit != "" {
			where += " in commit " + f.Commit
			a.Line, a.Col = 0, 0 // a line of an old version, not of the file checked out
		}
		a.Message = fmt.Sprintf("%s (%s) in %s; fingerprint %s", describe(f), f.Redacted, where, f.Fingerprint)
		out = append(out, a)
	}
	return out
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
		fmt.Fprintf(&b, "| %s | %s | %d |\n", Cell(k.rule), Cell(k.target), counts[k])
	}
	b.WriteString("\n| rule | location | redacted | fingerprint |\n| --- | --- | --- | --- |\n")
	for i, f := range r.Findings {
		row := fmt.Sprintf("| %s | %s | `%s` | `%s` |\n", Cell(f.Rule), Cell(Where(f)), f.Redacted, f.Fingerprint)
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

// Cell makes text safe in a Markdown table cell: it cannot end the cell
// or the row, start a code span, a link or an HTML element, or carry terminal
// control characters.
func Cell(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '|' || r == '\\' || r == '`' || r == '[' || r == ']' || r == '<' || r == '>' || r == '&':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
