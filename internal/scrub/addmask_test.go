package scrub

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/secretgate/secretgate/scanner/known"
)

// shared writes data through a Writer reading ::add-mask:: lines, in the
// chunk sizes given, and returns the output and the warnings. It has a
// second Writer read data in the same chunks (ReadFrom), and fails the
// test if that one's output or warnings differ.
func shared(t testing.TB, base *known.Matcher, data []byte, sizes []int) (string, []string) {
	t.Helper()
	var out [2]bytes.Buffer
	var warnings [2][]string
	for i := range out {
		masks := NewMasks(base, 6, func(err error) { warnings[i] = append(warnings[i], err.Error()) })
		if w := NewShared(&out[i], masks, ""); i == 0 {
			writeChunked(t, w, data, sizes)
		} else {
			readChunked(t, w, data, sizes)
		}
	}
	if out[1].String() != out[0].String() || !slices.Equal(warnings[1], warnings[0]) {
		t.Fatalf("writes of %v: by ReadFrom %q, warned %q; by Write %q, warned %q", sizes, out[1].String(), warnings[1], out[0].String(), warnings[0])
	}
	return out[0].String(), warnings[0]
}

func TestAddMask(t *testing.T) {
	const v = "rt-s3cret/value+1"
	b64 := base64.StdEncoding.EncodeToString([]byte(v))
	for _, tt := range []struct {
		name, in, want string
	}{
		{"masks from the next line on", "before " + v + "\n::add-mask::" + v + "\nafter " + v + " " + b64 + " " + url.QueryEscape(v) + "\n",
			"before " + v + "\nafter *** *** ***\n"},
		{"at the very start", "::add-mask::" + v + "\n" + v + "\n", "***\n"},
		{"at the very end, no line end", "x\n::add-mask::" + v, "x\n"},
		{"with CRLF", "::add-mask::" + v + "\r\n" + v + "\r\n", "***\r\n"},
		{"leading blanks", "  \t::add-mask::" + v + "\n" + v + "\n", "***\n"},
		{"with properties", "::add-mask key=x::" + v + "\n" + v + "\n", "***\n"},
		{"escaped line breaks and percent", "::add-mask::line one%0Aline two 100%25\n" + "line one\nline two 100%\n", "***\n"},
		{"repeated", "::add-mask::" + v + "\n::add-mask::" + v + "\n" + v + "\n::add-mask::other-value-9\nother-value-9 " + v + "\n", "***\n*** ***\n"},
		{"not at a line start", "echo ::add-mask::" + v + "\n" + v + "\n", "echo ::add-mask::" + v + "\n" + v + "\n"},
		{"almost a command", "::add-masks::" + v + "\n::add-mas\n" + v + "\n", "::add-masks::" + v + "\n::add-mas\n" + v + "\n"},
		{"almost a command at the end", "x\n::add-ma", "x\n::add-ma"},
	} {
		for _, sizes := range [][]int{nil, {1}, {2, 5}, {13}} {
			got, _ := shared(t, known.New(nil, nil), []byte(tt.in), sizes)
			if got != tt.want {
				t.Errorf("%s, writes of %v: %q, want %q", tt.name, sizes, got, tt.want)
			}
		}
	}
}

func TestAddMaskWarnings(t *testing.T) {
	_, warnings := shared(t, known.New(nil, nil), []byte("::add-mask::\n::add-mask::abc\n::add-mask\n"), nil)
	want := []string{"command 1: empty value", "command 1: the value is shorter than 6 bytes"}
	if len(warnings) != len(want) {
		t.Fatalf("warnings %q, want %d", warnings, len(want))
	}
	for i, w := range want {
		if !strings.Contains(warnings[i], w) || strings.Contains(warnings[i], "abc") {
			t.Errorf("warning %q, want one about %q that never shows the value", warnings[i], w)
		}
	}
}

// TestAddMaskShared: a mask added on standard output covers standard error
// too, from its next write on.
func TestAddMaskShared(t *testing.T) {
	const v = "shared-s3cret-value"
	masks := NewMasks(known.New(nil, nil), 6, func(error) {})
	var out, errOut bytes.Buffer
	stdout, stderr := NewShared(&out, masks, ""), NewShared(&errOut, masks, "")
	stdout.Write([]byte("::add-mask::" + v + "\n"))
	stderr.Write([]byte("err " + v + "\n"))
	stdout.Close()
	stderr.Close()
	if out.String() != "" || errOut.String() != "err ***\n" {
		t.Errorf("stdout %q, stderr %q; want nothing and the value masked", out.String(), errOut.String())
	}
	if added := len(masks.Matcher().Secrets()); added != 1 || len(stderr.Counts()) != 1 || stderr.Counts()[0] != 1 {
		t.Errorf("added %d, stderr counts %v; want one mask, masked once", added, stderr.Counts())
	}
}

// TestAddMaskKeepsBase: the secrets given at the start stay masked after
// masks are added, and a long command is dropped, not printed.
func TestAddMaskKeepsBase(t *testing.T) {
	base := matcher("base-secret-1")
	in := "::add-mask::added-secret-2\nbase-secret-1 added-secret-2\n::add-mask::" + strings.Repeat("x", MaxCommand+10) + "\nend\n"
	got, warnings := shared(t, base, []byte(in), []int{4096})
	if got != "*** ***\nend\n" {
		t.Errorf("got %q", got[:min(len(got), 80)])
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "longer than") {
		t.Errorf("warnings %q, want one about the long command", warnings)
	}
}

// FuzzAddMask: a value added by a command is masked in every form after
// it, however the stream is cut, and the output is the same as written
// whole.
func FuzzAddMask(f *testing.F) {
	f.Add("prefix", "add3d-value", " then add3d-value and more", []byte{1})
	f.Add("", "v%0Al2-value", "v\nl2-value", []byte{3, 1})
	f.Fuzz(func(t *testing.T, pre, v, post string, cuts []byte) {
		if len(v) < 6 || len(v) > 200 || strings.ContainsAny(v, "*\r\n") || strings.ContainsAny(pre, "\r\n") || strings.Contains(post, "::") || strings.Contains(post, "*") {
			return
		}
		in := []byte(pre + "\n::add-mask::" + v + "\n" + post + v + post)
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		whole, _ := shared(t, known.New(nil, nil), in, nil)
		got, _ := shared(t, known.New(nil, nil), in, sizes)
		if got != whole {
			t.Fatalf("cut %v: %q, whole: %q", sizes, got, whole)
		}
		after, ok := strings.CutPrefix(got, pre+"\n")
		if !ok {
			t.Fatalf("output %q does not start with the text before the command", got)
		}
		value, _ := commandValue([]byte("::add-mask::" + v))
		m := matcher(value)
		m.FindAll([]byte(after), func(x known.Match) {
			t.Fatalf("output after the command %q holds form %q", after, fmt.Sprint(string(m.Forms()[x.Form].Text)))
		})
	})
}

// TestAddMaskForward: with Forward, an added mask is also written out as a
// command, at the start of a line, after what the stream held back, and the
// value is masked from there on.
func TestAddMaskForward(t *testing.T) {
	const v = "fwd-s3cret-value"
	m := matcher("held-secret-long")
	for _, sizes := range [][]int{nil, {1}, {5}} {
		for _, read := range []bool{false, true} {
			masks := NewMasks(m, 6, func(error) {})
			masks.Forward(func(w io.Writer, value string) error {
				_, err := fmt.Fprintf(w, "::add-mask::%s\n", strings.ReplaceAll(value, "%", "%25"))
				return err
			})
			var out bytes.Buffer
			// Written a byte at a time, "held-sec" is held back as the
			// start of a secret until its line ends: the command comes
			// after it.
			in := []byte("x held-sec\n::add-mask::" + v + "\n" + v + " held-secret-long\n")
			if w := NewShared(&out, masks, ""); read {
				readChunked(t, w, in, sizes)
			} else {
				writeChunked(t, w, in, sizes)
			}
			if want := "x held-sec\n::add-mask::" + v + "\n*** ***\n"; out.String() != want {
				t.Errorf("writes of %v (ReadFrom: %v): %q, want %q", sizes, read, out.String(), want)
			}
		}
	}
}

// TestCommandLineEveryOffset checks the sampled search for command lines
// against reading line by line: a command at every offset from the start
// of the buffer, after blanks or not, at a line start or mid-line, among
// near-misses that share its pairs of bytes.
func TestCommandLineEveryOffset(t *testing.T) {
	plain := func(p []byte) int {
		for i := bytes.IndexByte(p, '\n'); i >= 0; {
			line := p[i+1:]
			if bytes.HasPrefix(bytes.TrimLeft(line, " \t"), addMask) {
				return i + 1
			}
			next := bytes.IndexByte(line, '\n')
			if next < 0 {
				return -1
			}
			i += 1 + next
		}
		return -1
	}
	fills := []string{"x", "::add-mas", "added as mask", "a\n::add-mas\n", "::add-mask"}
	for _, fill := range fills {
		for _, lead := range []string{"\n", "\n  \t", " ", "\n-"} {
			for at := range 40 {
				p := []byte(strings.Repeat(fill, 40/len(fill)+1)[:at])
				p = append(append(p, lead...), "::add-mask::v\nafter"...)
				if got, want := commandLine(p), plain(p); got != want {
					t.Errorf("commandLine(%q) = %d, want %d", p, got, want)
				}
			}
		}
	}
}
