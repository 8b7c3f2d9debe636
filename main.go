// Command secretgate lets secrets into CI/CD pipelines safely, keeps them
// out of logs, and fails builds that embed them. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/secretgate/secretgate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stdio := cli.IO{
		In:     os.Stdin,
		Out:    os.Stdout,
		Err:    os.Stderr,
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
		Lookup: os.LookupEnv,
	}
	code := cli.Main(ctx, os.Args[1:], stdio, os.Getenv)
	stop()
	os.Exit(code)
}
