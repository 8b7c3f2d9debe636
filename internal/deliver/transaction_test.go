package deliver

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestTransactionAllOrNothing: a destination that cannot take its delivery
// leaves every other one as it was, whichever fails and when.
func TestTransactionAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	output := filepath.Join(dir, "github_output")
	os.WriteFile(output, []byte("EARLIER=1\n"), 0o644)
	existing := filepath.Join(dir, "exists.env")
	os.WriteFile(existing, []byte("keep"), 0o600)
	fresh := filepath.Join(dir, "new.env")
	var stdout bytes.Buffer

	for _, tt := range []struct {
		name  string
		build func(tx *Transaction)
		want  string
	}{
		{"new file exists", func(tx *Transaction) {
			tx.Append("GITHUB_OUTPUT", output, []byte("A=1\n"))
			tx.Create(fresh, []byte("x"))
			tx.Create(existing, []byte("y"))
			tx.Stream("standard output", &stdout, []byte("{}"))
		}, "file exists"},
		{"runner file missing", func(tx *Transaction) {
			tx.Create(fresh, []byte("x"))
			tx.Append("GITHUB_ENV", filepath.Join(dir, "no", "such"), []byte("A=1\n"))
		}, "no such file"},
		{"stream fails last", func(tx *Transaction) {
			tx.Append("GITHUB_OUTPUT", output, []byte("A=1\n"))
			tx.Create(fresh, []byte("x"))
			tx.Stream("standard output", failWriter{}, []byte("{}"))
		}, "broken pipe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tx := &Transaction{}
			tt.build(tx)
			err := tx.Commit()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Commit = %v, want an error with %q", err, tt.want)
			}
			if got, _ := os.ReadFile(output); string(got) != "EARLIER=1\n" {
				t.Errorf("GITHUB_OUTPUT = %q, want it as it was", got)
			}
			if _, err := os.Stat(fresh); err == nil {
				t.Errorf("%s was left behind", fresh)
			}
			if got, _ := os.ReadFile(existing); string(got) != "keep" {
				t.Errorf("the existing file = %q, want it untouched", got)
			}
			if stdout.Len() > 0 {
				t.Errorf("standard output = %q, want nothing", stdout.String())
			}
			left, _ := filepath.Glob(filepath.Join(dir, ".*secretgate-*"))
			if len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}

	tx := &Transaction{}
	tx.Append("GITHUB_OUTPUT", output, []byte("A=1\n"))
	tx.Create(fresh, []byte("x"))
	tx.Stream("standard output", &stdout, []byte("{}"))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(fresh)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v, mode %v; want 0600", err, info.Mode())
	}
	if got, _ := os.ReadFile(output); string(got) != "EARLIER=1\nA=1\n" || stdout.String() != "{}" {
		t.Errorf("after a commit: GITHUB_OUTPUT %q, stdout %q", got, stdout.String())
	}
}
