package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/secretgate/secretgate/scanner"
	"github.com/secretgate/secretgate/scanner/fs"
	"github.com/secretgate/secretgate/scanner/rules"
)

func main() {
	cfg, err := rules.Default()
	if err != nil {
		panic(err)
	}
	r := rules.New(context.Background(), cfg, rules.Options{})
	if len(os.Args) > 2 {
		f, _ := os.Create(os.Args[2])
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	t := time.Now()
	res, err := scanner.Scan(context.Background(), []scanner.Source{fs.Path{Root: os.Args[1]}}, []scanner.Detector{r}, scanner.Options{Warn: func(e error) { fmt.Fprintln(os.Stderr, "warn:", e) }})
	if err != nil {
		panic(err)
	}
	fmt.Fprintln(os.Stderr, time.Since(t), len(res.Findings), res.Stats)
	json.NewEncoder(os.Stdout).Encode(res.Findings)
}
