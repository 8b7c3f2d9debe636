package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries keeps each heavy dependency behind one package (and
// the packages under it, such as a store's fake server): gitleaks inside
// scanner/rules, go-containerregistry inside scanner/image, each secret
// store's client inside its provider.
func TestImportBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	owners := map[string]string{
		"github.com/zricethezav/gitleaks/v8":     "github.com/secretgate/secretgate/scanner/rules",
		"github.com/google/go-containerregistry": "github.com/secretgate/secretgate/scanner/image",
		"github.com/wasilibs/go-re2":             "github.com/secretgate/secretgate/scanner/rules",
		"github.com/sethvargo/go-githubactions":  "github.com/secretgate/secretgate/internal/ghactions",
		"github.com/moby/moby":                   "none: only go-containerregistry's daemon package",
		"github.com/docker/docker":               "none: only go-containerregistry's daemon package",
		"go.opentelemetry.io":                    "none: only go-containerregistry's daemon package",
		"github.com/aws/aws-sdk-go-v2":           "github.com/secretgate/secretgate/internal/provider/awssm",
		"github.com/aws/smithy-go":               "github.com/secretgate/secretgate/internal/provider/awssm",
		"github.com/hashicorp/vault/api":         "github.com/secretgate/secretgate/internal/provider/vault",
		"github.com/Azure/azure-sdk-for-go":      "github.com/secretgate/secretgate/internal/provider/azurekv",
		"cloud.google.com/go":                    "github.com/secretgate/secretgate/internal/provider/gcpsm",
		"google.golang.org/grpc":                 "github.com/secretgate/secretgate/internal/provider/gcpsm",
		"google.golang.org/api":                  "github.com/secretgate/secretgate/internal/provider/gcpsm",
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
				if (imp == dep || strings.HasPrefix(imp, dep+"/")) && pkg != owner && !strings.HasPrefix(pkg, owner+"/") {
					t.Errorf("%s imports %s: only %s may", pkg, imp, owner)
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("go list listed %d packages: the check saw nothing", checked)
	}
}

// TestLeanPackages keeps the Docker client (go-containerregistry's daemon
// package, and with it moby and OpenTelemetry) and gitleaks out of the
// packages that do not need them: the scrubber, the known-value matcher,
// the providers and the sources other than images, which library users
// and a log pipe import alone.
func TestLeanPackages(t *testing.T) {
	heavy := []string{
		"github.com/google/go-containerregistry/pkg/v1/daemon",
		"github.com/zricethezav/gitleaks/v8",
	}
	for _, pkg := range []string{"./internal/scrub", "./scanner/known", "./internal/provider/...", "./scanner/files",
		"./scanner/source", "./scanner/staged", "./internal/deliver", "./internal/ghactions"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, h := range heavy {
				if dep == h || strings.HasPrefix(dep, h+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
