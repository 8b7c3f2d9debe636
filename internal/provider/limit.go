package provider

import (
	"fmt"
	"io"
	"net/http"
)

// MaxResponse bounds one response of a secret store, read before it is
// parsed: a secret holds at most 64 KiB in AWS and 25 KiB in Azure, a
// batch or a list page a few hundred of them. A larger response is an
// error, not memory.
const MaxResponse = 8 << 20

// LimitBody cuts a response body at MaxResponse: reading past it fails.
func LimitBody(body io.ReadCloser) io.ReadCloser {
	return &limitedBody{ReadCloser: body, left: MaxResponse}
}

// LimitTransport cuts every response body of next at MaxResponse.
func LimitTransport(next http.RoundTripper) http.RoundTripper {
	return limitedTransport{next}
}

type limitedTransport struct{ next http.RoundTripper }

func (l limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		resp.Body = LimitBody(resp.Body)
	}
	return resp, err
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("the response is larger than %d MiB", MaxResponse>>20)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left <= 0 && err == nil {
		// One more byte would be too many: find out now.
		var one [1]byte
		if m, _ := b.ReadCloser.Read(one[:]); m > 0 {
			return n, fmt.Errorf("the response is larger than %d MiB", MaxResponse>>20)
		}
	}
	return n, err
}
