//go:build !unix

package index

import (
	"io"
	"os"
)

// canMmap: no memory maps here (see mmap_unix.go).
const canMmap = false

// Without mmap the range is read into the heap.
func mmapFile(f *os.File, off int64, n int, _ bool) ([]byte, bool, error) {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, true, err
	}
	return b, true, nil
}

func munmap([]byte) error { return nil }

func dontNeed([]byte) {}
