package deliver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Transaction writes deliveries to several destinations all or nothing.
// Check finds every problem it can before anything is written; Commit then
// writes each new file beside its final path and links it into place
// (never over an existing file), appends to the runner's files remembering
// their sizes, and writes streams last, as they cannot be taken back. If
// any step fails, what was written is undone: new files removed, appended
// files cut back to their sizes.
type Transaction struct {
	files   []fileOp
	appends []appendOp
	streams []streamOp
}

type fileOp struct {
	path string
	data []byte
	tmp  string // written, not yet linked
	done bool   // linked into place
}

type appendOp struct {
	label, path string
	data        []byte
	size        int64 // the file's size before the append
	done        bool
}

type streamOp struct {
	label string
	w     io.Writer
	data  []byte
}

// Create adds a new private file (mode 0600) at path: it must not exist.
func (t *Transaction) Create(path string, data []byte) {
	t.files = append(t.files, fileOp{path: path, data: data})
}

// Append adds data to append to an existing file, such as the runner's
// GITHUB_OUTPUT; label names it in errors.
func (t *Transaction) Append(label, path string, data []byte) {
	t.appends = append(t.appends, appendOp{label: label, path: path, data: data})
}

// Stream adds data to write to w (standard output), after every file.
func (t *Transaction) Stream(label string, w io.Writer, data []byte) {
	t.streams = append(t.streams, streamOp{label: label, w: w, data: data})
}

// Check reports the first destination that cannot be written: a new file
// that exists or whose directory is missing, a file to append to that
// cannot be opened for appending.
func (t *Transaction) Check() error {
	for _, f := range t.files {
		if _, err := os.Lstat(f.path); err == nil {
			return fmt.Errorf("delivering to %s: file exists", f.path)
		}
		if info, err := os.Stat(filepath.Dir(f.path)); err != nil || !info.IsDir() {
			return fmt.Errorf("delivering to %s: no such directory", f.path)
		}
	}
	for _, a := range t.appends {
		if a.path == "" {
			return fmt.Errorf("delivering to %s: the variable is not set (not inside GitHub Actions?)", a.label)
		}
		fh, err := os.OpenFile(a.path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("delivering to %s: %w", a.label, err)
		}
		fh.Close()
	}
	return nil
}

// Commit writes everything, or undoes what it wrote and returns why not.
func (t *Transaction) Commit() (err error) {
	if err := t.Check(); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, t.undo())
		}
	}()
	for i := range t.files {
		f := &t.files[i]
		if f.tmp, err = writeTemp(f.path, f.data); err != nil {
			return fmt.Errorf("delivering to %s: %w", f.path, err)
		}
	}
	for i := range t.files {
		f := &t.files[i]
		// A link, unlike a rename, fails if the path exists meanwhile.
		if err := os.Link(f.tmp, f.path); err != nil {
			return fmt.Errorf("delivering to %s: %w", f.path, err)
		}
		f.done = true
		os.Remove(f.tmp)
		f.tmp = ""
	}
	for i := range t.appends {
		a := &t.appends[i]
		if err := a.commit(); err != nil {
			return fmt.Errorf("delivering to %s: %w", a.label, err)
		}
	}
	for _, s := range t.streams {
		if _, err := s.w.Write(s.data); err != nil {
			return fmt.Errorf("delivering to %s: %w", s.label, err)
		}
	}
	return nil
}

func (a *appendOp) commit() error {
	fh, err := os.OpenFile(a.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	info, err := fh.Stat()
	if err != nil {
		fh.Close()
		return err
	}
	a.size, a.done = info.Size(), true
	_, err = fh.Write(a.data)
	return errors.Join(err, fh.Close())
}

// undo removes the files made and cuts appended files back.
func (t *Transaction) undo() error {
	var errs []error
	for _, f := range t.files {
		if f.tmp != "" {
			os.Remove(f.tmp)
		}
		if f.done {
			if err := os.Remove(f.path); err != nil {
				errs = append(errs, fmt.Errorf("undoing %s: %w", f.path, err))
			}
		}
	}
	for _, a := range t.appends {
		if a.done {
			if err := os.Truncate(a.path, a.size); err != nil {
				errs = append(errs, fmt.Errorf("undoing %s: %w", a.label, err))
			}
		}
	}
	return errors.Join(errs...)
}

// writeTemp writes data to a new 0600 file beside path.
func writeTemp(path string, data []byte) (string, error) {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".secretgate-"+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}
