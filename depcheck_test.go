package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries keeps each heavy dependency behind one package:
// gitleaks inside scanner/rules, go-containerregistry inside scanner/image.
func TestImportBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	owners := map[string]string{
		"github.com/zricethezav/gitleaks/v8":     "github.com/secretgate/secretgate/scanner/rules",
		"github.com/google/go-containerregistry": "github.com/secretgate/secretgate/scanner/image",
		"github.com/wasilibs/go-re2":             "github.com/secretgate/secretgate/scanner/rules",
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		checked++
		for _, imp := range fields[1:] {
			for dep, owner := range owners {
				if (imp == dep || strings.HasPrefix(imp, dep+"/")) && pkg != owner {
					t.Errorf("%s imports %s: only %s may", pkg, imp, owner)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("go list listed %d packages: the check saw nothing", checked)
	}
}
