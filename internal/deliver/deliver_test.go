package deliver

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// parseFileCommands reads NAME<<DELIM heredocs as the GitHub runner does.
func parseFileCommands(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		name, delim, ok := strings.Cut(s.Text(), "<<")
		if !ok {
			t.Fatalf("line %q is not NAME<<DELIMITER", s.Text())
		}
		var lines []string
		for s.Scan() && s.Text() != delim {
			lines = append(lines, s.Text())
		}
		out[name] = strings.Join(lines, "\n")
	}
	return out
}

func TestFileCommandsCannotBeInjected(t *testing.T) {
	secrets := []Secret{
		{Name: "A", Value: "line1\nEOF\nB<<EOF\ninjected\nEOF"},
		{Name: "B", Value: "ghadelimiter_00000000000000000000000000000000\nX<<ghadelimiter_1\nvalue"},
		{Name: "C", Value: "plain"},
	}
	data, err := FileCommands(secrets, false)
	if err != nil {
		t.Fatal(err)
	}
	got := parseFileCommands(t, data)
	if len(got) != 3 {
		t.Fatalf("parsed %d outputs %v, want exactly 3", len(got), got)
	}
	for _, s := range secrets {
		if got[s.Name] != s.Value {
			t.Errorf("output %s = %q, want %q", s.Name, got[s.Name], s.Value)
		}
	}
}

func TestFileCommandsRefusals(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  bool
	}{{"GITHUB_TOKEN", true}, {"NODE_OPTIONS", true}, {"LD_PRELOAD", true}, {"PATH", true}, {"bad-name", false}, {"1X", false}} {
		if _, err := FileCommands([]Secret{{Name: tt.name, Value: "v"}}, tt.env); err == nil {
			t.Errorf("FileCommands(%s, env=%v) accepted it", tt.name, tt.env)
		}
	}
	if _, err := FileCommands([]Secret{{Name: "NODE_OPTIONS", Value: "v"}}, false); err != nil {
		t.Errorf("an output may be named NODE_OPTIONS: %v", err)
	}
}

func TestMasks(t *testing.T) {
	v := "multi line\nsecret-value-2"
	masks := Masks([]Secret{{Name: "K", Value: v, Also: []string{"\x00raw-bytes\xff"}}}, 6)
	has := map[string]bool{}
	for _, m := range masks {
		has[m] = true
	}
	for _, want := range []string{v, "multi line", "secret-value-2", "\x00raw-bytes\xff", "6d756c7469206c696e650a7365637265742d76616c75652d32"} {
		if !has[want] {
			t.Errorf("Masks lacks %q", want)
		}
	}
	var b bytes.Buffer
	if err := AddMasks(&b, []string{"a%b\r\nc"}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "::add-mask::a%25b%0D%0Ac\n" {
		t.Errorf("AddMasks = %q, want the runner's escaping", got)
	}
}

func TestHelmValues(t *testing.T) {
	data, err := HelmValues([]Secret{{Name: "secret.db.password", Value: "p: w#1"}, {Name: "secret.user", Value: "app"}, {Name: "top", Value: "007"}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	sec := got["secret"].(map[string]any)
	if sec["db"].(map[string]any)["password"] != "p: w#1" || sec["user"] != "app" || got["top"] != "007" {
		t.Errorf("HelmValues = %s", data)
	}
	if _, err := HelmValues([]Secret{{Name: "a.b", Value: "1"}, {Name: "a", Value: "2"}}); err == nil {
		t.Error("HelmValues accepted a path that is both a value and a parent")
	}
}

func TestEnvFileQuoting(t *testing.T) {
	data, err := EnvFile([]Secret{{Name: "X", Value: "it's $HOME `id`"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "export X='it'\\''s $HOME `id`'\n"; string(data) != want {
		t.Errorf("EnvFile = %q, want %q", data, want)
	}
}
