// Command scrubload writes the scrubber benchmark's workload to a
// directory, so that bench/scrub-peers.sh can give the same log and the
// same needles (every form of N secrets) to other projects' maskers:
// log-N.txt and needles-N.json for each N, as BenchmarkScrub in
// internal/scrub makes them, and raw-N.json with the values alone (what
// those maskers are given in practice). With -env N it prints the N
// secrets as NAME=VALUE lines instead (bench/scrub-cli.sh).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/secretgate/secretgate/internal/fixture"
	"github.com/secretgate/secretgate/scanner/known"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-env" {
		// NAME=VALUE lines, for bench/scrub-cli.sh to export.
		var n int
		if _, err := fmt.Sscan(os.Args[2], &n); err != nil {
			fmt.Fprintln(os.Stderr, "scrubload: -env N")
			os.Exit(2)
		}
		for i, v := range fixture.Passwords(n) {
			fmt.Printf("S%d=%s\n", i, v)
		}
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: scrubload DIR | scrubload -env N")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "scrubload:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	for _, n := range []int{10, 100, 1000, 4000} {
		values := fixture.Passwords(n)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("log-%d.txt", n)), fixture.BuildLog(8<<20, values), 0o600); err != nil {
			return err
		}
		var secrets []known.Secret
		for _, v := range values {
			secrets = append(secrets, known.Secret{Value: v})
		}
		forms, _ := known.Forms(secrets, 6)
		needles := make([]string, len(forms))
		for i, f := range forms {
			needles[i] = string(f.Text)
		}
		if err := writeJSON(filepath.Join(dir, fmt.Sprintf("needles-%d.json", n)), needles); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(dir, fmt.Sprintf("raw-%d.json", n)), values); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
