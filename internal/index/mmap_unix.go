//go:build unix

package index

import (
	"os"
	"syscall"
)

// canMmap: frozen postings can be read from a memory map of the snapshot.
const canMmap = true

func mmapFile(f *os.File, off int64, n int, populate bool) ([]byte, bool, error) {
	flags := syscall.MAP_SHARED
	if populate {
		flags |= mapPopulate
	}
	b, err := syscall.Mmap(int(f.Fd()), off, n, syscall.PROT_READ, flags)
	if err != nil {
		return nil, false, err
	}
	return b, false, nil
}

func munmap(b []byte) error { return syscall.Munmap(b) }
