package scrub

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/secretgate/secretgate/scanner/detect"
	"github.com/secretgate/secretgate/scanner/known"
)

// Child is a process to run with its standard output and standard error
// passed through scrubbers.
type Child struct {
	Argv, Env      []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Matcher        *known.Matcher
	// Masks, when set, is used instead of Matcher, and ::add-mask:: lines
	// in either stream add to it.
	Masks *Masks
	Mask  string
	// Extra are passed as file descriptors 3, 4, ... and closed here once
	// the child holds its own copies.
	Extra []*os.File
	// Rules, when set, also masks what it finds, line by line.
	Rules detect.Detector
}

// Exit is how a child ended.
type Exit struct {
	Code      int     // its exit status, or 128+N when killed by signal N
	Signal    string  // the signal that killed it, if one did
	Counts    [][]int // masked runs per secret, on stdout and on stderr
	RuleMasks int     // tokens masked because a rule matched them
}

// StartError is a child that could not be started; Code is what a shell
// answers (127 not found, 126 not executable).
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Run starts the child, passes INT, TERM and HUP on to it (it decides
// whether to stop), waits for it and flushes the scrubbers.
func (c Child) Run() (Exit, error) {
	outW, errW := c.Stdout, c.Stderr
	var lines []*Lines
	if c.Rules != nil {
		lo, le := NewLines(outW, c.Rules, c.Mask), NewLines(errW, c.Rules, c.Mask)
		lines = []*Lines{lo, le}
		outW, errW = lo, le
	}
	var stdout, stderr *Writer
	if c.Masks != nil {
		stdout, stderr = NewShared(outW, c.Masks, c.Mask), NewShared(errW, c.Masks, c.Mask)
	} else {
		stdout, stderr = New(outW, c.Matcher, c.Mask), New(errW, c.Matcher, c.Mask)
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Env = c.Env
	cmd.Stdin = c.Stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.ExtraFiles = c.Extra
	if err := cmd.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return Exit{}, &StartError{Code: code, Err: fmt.Errorf("running %q: %w", c.Argv[0], err)}
	}
	for _, f := range c.Extra {
		f.Close() // the child has its own copies
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	waitErr := cmd.Wait()
	close(done)
	flushErr := errors.Join(stdout.Close(), stderr.Close())
	res := Exit{Counts: [][]int{stdout.Counts(), stderr.Counts()}}
	for _, l := range lines {
		flushErr = errors.Join(flushErr, l.Close())
		res.RuleMasks += l.Masked()
	}
	var exitErr *exec.ExitError
	switch {
	case errors.As(waitErr, &exitErr):
		status, _ := exitErr.Sys().(syscall.WaitStatus)
		if status.Signaled() {
			res.Signal = signalName(status.Signal())
			res.Code = 128 + int(status.Signal())
		} else {
			res.Code = exitErr.ExitCode()
		}
	case waitErr != nil:
		return res, fmt.Errorf("running %q: %w", c.Argv[0], waitErr)
	}
	if flushErr != nil {
		return res, fmt.Errorf("writing the output of %q: %w", c.Argv[0], flushErr)
	}
	return res, nil
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return s.String()
}
