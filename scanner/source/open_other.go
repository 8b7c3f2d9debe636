//go:build !unix

package source

import "os"

// File is a regular file open for reading.
type File struct{ *os.File }

// OpenFile opens a regular file for reading.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &File{f}, nil
}

// Size returns the file's size.
func (f *File) Size() (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}
