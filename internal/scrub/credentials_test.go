package scrub

import (
	"bytes"
	"testing"
)

func TestCredentials(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"git clone https://oauth2:Xy7-secret@gitlab.example.test/g/p.git", "git clone https://oauth2:***@gitlab.example.test/g/p.git"},
		{"postgres://app:p%40ss@db:5432/app", "postgres://app:***@db:5432/app"},
		{"redis://:only-password@cache:6379", "redis://:***@cache:6379"},
		{`curl "https://b.example.test/o?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=fe5f80f77d5f&x=1"`, `curl "https://b.example.test/o?X-Amz-Credential=***&X-Amz-Signature=***&x=1"`},
		{"GET /api/v4/projects?private_token=glpat-123&per_page=2", "GET /api/v4/projects?private_token=***&per_page=2"},
		{"https://acct.blob.example.test/c/b?sv=2022&sig=abc%2Bdef%3D", "https://acct.blob.example.test/c/b?sv=2022&sig=***"},
		{"https://x.test/?TOKEN=t0k", "https://x.test/?TOKEN=***"},
		// Nothing to mask: no password, an e-mail address, a key named
		// like a token in a path.
		{"https://user@host.test/path and mailto:a@b.test", "https://user@host.test/path and mailto:a@b.test"},
		{"see /docs/token=guide", "see /docs/token=guide"},
	} {
		var out bytes.Buffer
		l := NewLines(&out, Credentials{}, "")
		l.Write([]byte(tt.in))
		l.Close()
		if out.String() != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, out.String(), tt.want)
		}
	}
}
