package report

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/secretgate/secretgate/scanner"
)

const (
	bold  = "\x1b[1m"
	red   = "\x1b[31m"
	dim   = "\x1b[2m"
	reset = "\x1b[0m"
)

// Text writes one block per finding, for people reading a terminal or log.
func Text(w io.Writer, r *Report, color bool) error {
	bw := bufio.NewWriter(w)
	paint := func(style, s string) string {
		if !color {
			return s
		}
		return style + s + reset
	}
	for _, f := range r.Findings {
		fmt.Fprintf(bw, "%s %s\n", paint(bold+red, "Finding:"), f.Redacted)
		rule := f.Rule
		if f.Description != "" {
			rule += " (" + f.Description + ")"
		}
		fmt.Fprintf(bw, "Rule:        %s\n", Printable(rule))
		if f.Encoding != "" {
			fmt.Fprintf(bw, "Encoding:    %s\n", f.Encoding)
		}
		fmt.Fprintf(bw, "Location:    %s\n", paint(bold, Printable(Where(f))))
		if f.Commit != "" {
			fmt.Fprintf(bw, "Commit:      %s (%s <%s>, %s)\n", f.Commit, Printable(f.Author), Printable(f.Email), f.Date)
		}
		if f.Layer != "" {
			layer := f.Layer
			if f.Deleted {
				layer += " (deleted in a later layer)"
			}
			fmt.Fprintf(bw, "Layer:       %s\n", layer)
		}
		fmt.Fprintf(bw, "Fingerprint: %s\n\n", paint(dim, f.Fingerprint))
	}
	return bw.Flush()
}

// Where renders a finding's location as path:line:column (or path@offset
// for binary content), with the path joined to its target so that it can
// be opened from where the scan ran.
func Where(f scanner.Finding) string {
	s := f.Path
	if t := strings.TrimPrefix(f.Target, "git:"); t != "" && t != "." && t != "-" && !strings.HasPrefix(s, t) {
		s = path.Join(t, s)
	}
	switch {
	case f.Line > 0:
		s += fmt.Sprintf(":%d:%d", f.Line, f.Column)
	case f.Offset > 0:
		s += fmt.Sprintf("@%d", f.Offset)
	}
	if f.Commit != "" {
		s += " in commit " + shortSHA(f.Commit)
	}
	return s
}

// Printable shows text from names (files, archive members, image paths,
// rules from a configuration) safely on a terminal or in a CI log: control
// characters, which could move the cursor, recolour, or start a line that
// a runner reads as a workflow command, and Unicode format characters
// (bidirectional overrides) are written as Go escapes.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafeRune(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			if len(q) == 3 { // printable to QuoteRune: escape it anyway
				fmt.Fprintf(&b, "\\u%04x", r)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 || unicode.Is(unicode.Cf, r) || r == utf8.RuneError || r == 0x2028 || r == 0x2029
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
