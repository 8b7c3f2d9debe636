//go:build !race

package scrub

// longStream is the length of TestLongStreamBoundedMemory's stream.
const longStream = 1 << 30
