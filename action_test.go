package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/secretgate/secretgate/internal/cli"
)

type actionFile struct {
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using          string            `yaml:"using"`
		Image          string            `yaml:"image"`
		Args           []string          `yaml:"args"`
		Env            map[string]string `yaml:"env"`
		PostEntrypoint string            `yaml:"post-entrypoint"`
	} `yaml:"runs"`
	Branding map[string]string `yaml:"branding"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// TestActionInputsReachTheCLI checks that every input of action.yml maps to
// one SECRETGATE_* variable that a flag of some command reads (or to the
// command itself, or to SECRETGATE_ARGS), and that nothing maps twice.
func TestActionInputsReachTheCLI(t *testing.T) {
	a := readAction(t)
	if a.Runs.Using != "docker" || !strings.HasPrefix(a.Runs.Image, "docker://ghcr.io/secretgate/secretgate:v") || a.Branding["icon"] == "" {
		t.Errorf("runs = %+v, branding = %v: want a Docker action on the published image of a release, with branding", a.Runs, a.Branding)
	}
	vars := map[string]bool{"SECRETGATE_ARGS": true}
	for _, flags := range cli.Flags() {
		for _, f := range flags {
			vars[cli.EnvName(f)] = true
		}
	}
	used := map[string]string{}
	for name := range a.Inputs {
		ref := "${{ inputs." + name + " }}"
		var where []string
		for env, v := range a.Runs.Env {
			if v == ref {
				where = append(where, env)
				if !vars[env] {
					t.Errorf("input %s maps to %s, which no flag of secretgate reads", name, env)
				}
			}
		}
		if slices.Contains(a.Runs.Args, ref) {
			where = append(where, "args")
		}
		if len(where) != 1 {
			t.Errorf("input %s maps to %v, want exactly one flag variable or the command", name, where)
		}
		for _, w := range where {
			if prev, ok := used[w]; ok {
				t.Errorf("inputs %s and %s both map to %s", prev, name, w)
			}
			used[w] = name
		}
	}
	for _, required := range []string{"command", "secrets", "to", "targets", "format", "report", "baseline", "config", "fail-on-findings", "min-mask-length", "args"} {
		if _, ok := a.Inputs[required]; !ok {
			t.Errorf("action.yml lacks the input %s", required)
		}
	}
	if a.Runs.PostEntrypoint == "" {
		t.Error("action.yml has no post-entrypoint to remove what fetch left in RUNNER_TEMP")
	}
}

// TestDocumentedFlagsExist checks every flag the README, the GitLab template
// and the pre-commit hooks pass to a secretgate command.
func TestDocumentedFlagsExist(t *testing.T) {
	flags := cli.Flags()
	call := regexp.MustCompile(`secretgate (fetch|scan|scrub|run|helm|version|cleanup)\b([^\n|` + "`" + `]*)`)
	flag := regexp.MustCompile(`(?:^|\s)--([a-z][a-z0-9-]*)`)
	checked := 0
	for _, file := range []string{"README.md", "templates/secretgate.gitlab-ci.yml", ".pre-commit-hooks.yaml", "CONTRIBUTING.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(data), -1) {
			cmd, rest := m[1], m[2]
			if i := strings.Index(rest, " -- "); i >= 0 {
				rest = rest[:i] // what follows -- belongs to the program run
			}
			for _, f := range flag.FindAllStringSubmatch(rest, -1) {
				checked++
				if !slices.Contains(flags[cmd], f[1]) && f[1] != "help" {
					t.Errorf("%s shows secretgate %s --%s, which is no flag of that command", file, cmd, f[1])
				}
			}
		}
	}
	if checked < 10 {
		t.Errorf("checked only %d flags: the pattern finds no commands", checked)
	}
}

// TestReleaseVersionsAgree: what users copy names one release: action.yml's
// image, the GitLab template's image, the docker pre-commit hook's image,
// and the README's examples (rev, uses: @vMAJOR, image tags). With
// RELEASE_TAG set (the release workflow, .ci/release), that release.
func TestReleaseVersionsAgree(t *testing.T) {
	const image = "ghcr.io/secretgate/secretgate:"
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tagIn := func(name, text, prefix string) string {
		i := strings.Index(text, prefix)
		if i < 0 {
			t.Fatalf("%s names no %s", name, prefix)
		}
		rest := text[i+len(prefix):]
		end := strings.IndexFunc(rest, func(r rune) bool { return r != '.' && r != 'v' && (r < '0' || r > '9') })
		return rest[:end]
	}
	versions := map[string]string{
		"action.yml image":      tagIn("action.yml", read("action.yml"), "image: docker://"+image),
		"GitLab template image": tagIn("template", read("templates/secretgate.gitlab-ci.yml"), "SECRETGATE_IMAGE: "+image),
		"pre-commit hook image": tagIn(".pre-commit-hooks.yaml", read(".pre-commit-hooks.yaml"), "entry: "+image),
		"README pre-commit rev": tagIn("README.md", read("README.md"), "rev: "),
		"README image tag":      tagIn("README.md", read("README.md"), image),
	}
	want := versions["action.yml image"]
	if tag := os.Getenv("RELEASE_TAG"); tag != "" {
		want = tag
	}
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(want) {
		t.Fatalf("release %q is not vX.Y.Z", want)
	}
	for what, v := range versions {
		if v != want {
			t.Errorf("%s is %q, want %q", what, v, want)
		}
	}
	major := strings.SplitN(want, ".", 2)[0]
	for _, uses := range regexp.MustCompile(`secretgate/secretgate@(\S+)`).FindAllStringSubmatch(read("README.md"), -1) {
		if uses[1] != major {
			t.Errorf("README uses secretgate/secretgate@%s, want @%s", uses[1], major)
		}
	}
	for _, f := range []string{"action.yml", "templates/secretgate.gitlab-ci.yml", ".pre-commit-hooks.yaml"} {
		if strings.Contains(read(f), image+"latest") {
			t.Errorf("%s names the latest image: users copy it, so it must be pinned", f)
		}
	}
}
