package index

import (
	"fmt"
	"os"
	"unsafe"
)

// mapping is a read-only view of a byte range of a snapshot file: the frozen
// posting blobs of a loaded or just written snapshot are read in place from
// it (roaring's FromBuffer aliases them, copy-on-write), so they live in the
// operating system's page cache instead of the Go heap. Where the platform
// has no mmap, data is a heap copy of the range (heap true).
type mapping struct {
	data []byte
	base int64 // file offset of data[0]
	heap bool
}

// mapRange maps [off, off+size) of f read-only. off is rounded down to a
// page boundary; populate asks the kernel to fill the page tables at once
// (the pages are in the page cache right after a Flush wrote them), so the
// first searches do not pay a page fault per 4 KiB of posting.
func mapRange(f *os.File, off, size int64, populate bool) (*mapping, error) {
	if size <= 0 {
		return &mapping{base: off, heap: true}, nil
	}
	page := int64(os.Getpagesize())
	start := off &^ (page - 1)
	n := size + off - start
	if int64(int(n)) != n {
		return nil, fmt.Errorf("map %d bytes: too large for this platform", n)
	}
	data, heap, err := mmapFile(f, start, int(n), populate)
	if err != nil {
		return nil, fmt.Errorf("map snapshot: %w", err)
	}
	return &mapping{data: data, base: start, heap: heap}, nil
}

// slice returns the n bytes at file offset off (inside m).
func (m *mapping) slice(off int64, n int) []byte {
	i := off - m.base
	return m.data[i : i+int64(n) : i+int64(n)]
}

// contains reports whether b lies inside m.
func (m *mapping) contains(b []byte) bool {
	if len(m.data) == 0 || len(b) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
	return p >= lo && p < lo+uintptr(len(m.data))
}

// drop tells the kernel that the mapped bytes before file offset off will
// not be read again (a loaded snapshot's doc section): their pages leave the
// process's resident set (they stay in the page cache while it has room).
func (m *mapping) drop(off int64) {
	if m.heap || off <= m.base {
		return
	}
	page := int64(os.Getpagesize())
	end := (off - m.base) &^ (page - 1)
	if end > 0 {
		dontNeed(m.data[:end])
	}
}

// close unmaps m. No slice of it may be used afterwards.
func (m *mapping) close() error {
	if m.heap || m.data == nil {
		m.data = nil
		return nil
	}
	err := munmap(m.data)
	m.data = nil
	return err
}
