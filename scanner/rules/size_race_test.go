//go:build race

package rules

// hugeLine is shorter under the race detector, which slows scanning
// tenfold; the memory bound does not depend on it.
const hugeLine = 64 << 20
