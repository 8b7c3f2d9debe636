package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/secretgate/secretgate/internal/fixture"
)

// TestScrubStopsOnSignal: scrub blocked on an input that never ends stops
// when the command's context ends (SIGINT, SIGTERM), and what it held back
// of a possible secret is never written.
func TestScrubStopsOnSignal(t *testing.T) {
	secret := fixture.Password(9, 24)
	in, feed := io.Pipe()
	defer feed.Close()
	var out lockedBuffer
	var errOut bytes.Buffer
	opts := &ScrubOptions{
		Secrets: SecretOptions{KnownEnv: []string{"S"}, MinLength: 6},
		Mask:    "***",
		IO:      IO{In: in, Out: &out, Err: &errOut},
		Getenv:  func(k string) string { return map[string]string{"S": secret}[k] },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runScrub(ctx, opts) }()
	feed.Write([]byte("line one\n" + secret[:10])) // the start of the secret: held back
	cancel()
	select {
	case err := <-done:
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != ExitInterrupted {
			t.Errorf("runScrub = %v, want exit %d", err, ExitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("runScrub did not return after its context ended")
	}
	if strings.Contains(out.String(), secret[:10]) {
		t.Errorf("output %q holds the start of the secret", out.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a goroutine writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
