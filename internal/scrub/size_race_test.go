//go:build race

package scrub

// longStream is shorter under the race detector, which slows the scrubber
// tenfold; the bound it checks does not depend on the length.
const longStream = 64 << 20
