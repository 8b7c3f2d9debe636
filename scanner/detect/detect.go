// Package detect is the contract between the scanner and its detectors:
// the Chunk of content the scanner hands every Detector, and the Match a
// detector reports. Detectors (scanner/rules, scanner/known, a library
// user's own) import only this package, so they do not depend on the
// sources the scanner opens (images, git).
package detect

import "context"

// Detector finds secrets in a chunk of content.
//
// Detect reports every match it sees anywhere in c.Data through found; the
// scanner drops those that start outside the chunk's own range. Detect must
// not keep c or c.Data after it returns, and must be safe for concurrent use
// on different chunks.
type Detector interface {
	Detect(ctx context.Context, c *Chunk, found func(Match))
}

// Overlapper is implemented by detectors that need more context around a
// chunk than the scanner's default overlap to see every match whole.
type Overlapper interface {
	Overlap() int
}

// Match is a secret a Detector found in a chunk.
type Match struct {
	// Rule names what matched: a gitleaks rule id, or "known:NAME".
	Rule        string
	Description string
	// Start and End bound the match within Chunk.Data. For a match found in
	// decoded text they bound the encoded text it came from.
	Start, End int
	// Secret is the secret itself. It is used to fingerprint and redact the
	// finding and then dropped: it never reaches a Finding.
	Secret string
	// Prefix is a known, non-secret token prefix the redacted form may keep
	// (such as "ghp_"); empty when there is none.
	Prefix string
	// Encoding names the encoding the secret was found in, for known values.
	Encoding string
}
