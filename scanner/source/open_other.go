//go:build !unix

package source

import "os"

// OpenFile opens a file for reading.
func OpenFile(path string) (*os.File, error) { return os.Open(path) }
