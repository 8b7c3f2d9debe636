//go:build unix

package source

import (
	"io"
	"os"
	"syscall"
)

// File is a regular file open for reading. Unlike an *os.File it is never
// offered to the runtime's poller, which takes no regular file: on Linux
// os.Open's offer costs four fcntl calls and an epoll_ctl that fails, and
// os.NewFile still asks for the flags; together a third of the system calls
// of a scan of a source tree (issue 15). Its size is asked for only when
// wanted.
type File struct {
	fd   int
	path string
	size int64 // -1 until Size asks
}

// OpenFile opens a regular file for reading.
func OpenFile(path string) (*File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return &File{fd: fd, path: path, size: -1}, nil
	}
}

// maxRW bounds one system call's read, as os.File does.
const maxRW = 1 << 30

// Read implements io.Reader.
func (f *File) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(f.fd, p[:min(len(p), maxRW)])
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, &os.PathError{Op: "read", Path: f.path, Err: err}
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// ReadAt implements io.ReaderAt.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	read := 0
	for read < len(p) {
		n, err := syscall.Pread(f.fd, p[read:min(len(p), read+maxRW)], off+int64(read))
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return read, &os.PathError{Op: "read", Path: f.path, Err: err}
		case n == 0:
			return read, io.EOF
		}
		read += n
	}
	return read, nil
}

// Seek implements io.Seeker.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	at, err := syscall.Seek(f.fd, offset, whence)
	if err != nil {
		return 0, &os.PathError{Op: "seek", Path: f.path, Err: err}
	}
	return at, nil
}

// Size returns the file's size, asking the system once.
func (f *File) Size() (int64, error) {
	if f.size < 0 {
		var st syscall.Stat_t
		for {
			err := syscall.Fstat(f.fd, &st)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return 0, &os.PathError{Op: "stat", Path: f.path, Err: err}
			}
			break
		}
		f.size = st.Size
	}
	return f.size, nil
}

// Close implements io.Closer.
func (f *File) Close() error {
	if f.fd < 0 {
		return os.ErrClosed
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &os.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}
