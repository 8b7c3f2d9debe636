package known

import (
	"context"
	"strings"

	"github.com/secretgate/secretgate/scanner/detect"
)

// Detector reports known values in scanned content as rule "known:NAME".
type Detector struct {
	m *Matcher
}

var (
	_ detect.Detector   = (*Detector)(nil)
	_ detect.Overlapper = (*Detector)(nil)
)

// NewDetector returns a detect.Detector for m.
func NewDetector(m *Matcher) *Detector { return &Detector{m: m} }

// Overlap implements detect.Overlapper: a form, escaped byte by byte at
// worst, must fit in the overlap to be seen whole across a chunk boundary.
func (d *Detector) Overlap() int { return d.m.MaxSpan() }

// Detect implements detect.Detector. Of overlapping occurrences (a value
// inside a longer encoded form of itself, say) the longest is reported.
func (d *Detector) Detect(_ context.Context, c *detect.Chunk, found func(detect.Match)) {
	var ms []Match
	d.m.FindAll(c.Data, func(m Match) { ms = append(ms, m) })
	for _, run := range Unite(ms, false) {
		f := d.m.forms[run.Best.Form]
		s := d.m.secrets[f.Secret]
		enc := f.Encoding
		if run.Best.Decoded {
			enc = strings.TrimPrefix(enc+"+escaped", "+")
		}
		found(detect.Match{
			Rule:        "known:" + s.Name,
			Description: "Known secret value " + s.Name,
			Start:       run.Best.Start,
			End:         run.Best.End,
			Secret:      s.Value,
			Encoding:    enc,
		})
	}
}
