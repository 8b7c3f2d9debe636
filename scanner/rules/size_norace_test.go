//go:build !race

package rules

// hugeLine is TestHugeLine's line length.
const hugeLine = 1 << 30
