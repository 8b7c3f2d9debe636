package deliver

import (
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/secretgate/secretgate/internal/provider"
)

func TestMasks(t *testing.T) {
	v := "multi line\nsecret-value-2"
	masks := Masks([]provider.Secret{{Name: "K", Value: v, Also: []string{"\x00raw-bytes\xff"}}}, 6)
	has := map[string]bool{}
	for _, m := range masks {
		has[m] = true
	}
	for _, want := range []string{v, "multi line", "secret-value-2", "\x00raw-bytes\xff", "6d756c7469206c696e650a7365637265742d76616c75652d32"} {
		if !has[want] {
			t.Errorf("Masks lacks %q", want)
		}
	}
}

func TestHelmValues(t *testing.T) {
	data, err := HelmValues([]provider.Secret{{Name: "secret.db.password", Value: "p: w#1"}, {Name: "secret.user", Value: "app"}, {Name: "top", Value: "007"}})
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
	if _, err := HelmValues([]provider.Secret{{Name: "a.b", Value: "1"}, {Name: "a", Value: "2"}}); err == nil {
		t.Error("HelmValues accepted a path that is both a value and a parent")
	}
}

func TestEnvFileQuoting(t *testing.T) {
	data, err := EnvFile([]provider.Secret{{Name: "X", Value: "it's $HOME `id`"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "export X='it'\\''s $HOME `id`'\n"; string(data) != want {
		t.Errorf("EnvFile = %q, want %q", data, want)
	}
}
