// Package gitlabci speaks what GitLab CI reads in a job's log: collapsible
// sections. GitLab has no workflow commands; its masks are the project's
// masked variables, and secretgate's scrubber masks the rest.
package gitlabci

import (
	"fmt"
	"io"
	"regexp"
	"time"
)

// InJob reports whether the process runs inside a GitLab CI job.
func InJob(getenv func(string) string) bool { return getenv("GITLAB_CI") == "true" }

var sectionName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Section starts a collapsible section called name (letters, digits, _ . -)
// with a header line, and returns the function that ends it.
func Section(w io.Writer, name, header string, collapsed bool, now func() time.Time) (end func()) {
	if !sectionName.MatchString(name) {
		name = "secretgate"
	}
	fmt.Fprintf(w, "\x1b[0Ksection_start:%d:%s[collapsed=%t]\r\x1b[0K%s\n", now().Unix(), name, collapsed, header)
	return func() { fmt.Fprintf(w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", now().Unix(), name) }
}
