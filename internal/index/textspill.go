package index

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// textSpill keeps the full chunks of the text arena in a file instead of the
// Go heap. The arena fills a chunk in the heap; when it starts the next
// one, the full chunk is written to the spill file and replaced by a
// read-only memory map of the written bytes. Its text then lives in the
// page cache: resident while it is read, written back to disk by the
// kernel, and evictable under memory pressure (read back on the next
// access), where the heap copy could only grow the process. The texts are
// about a third of the index before its first flush (about 1.1x the raw
// text), and chunks never change once full (the arena is append-only), so
// each byte is written once.
//
// The file is created on the first seal, in the index directory, and
// unlinked at once: it is scratch (the snapshot holds the texts durably),
// takes disk space only while the index is open, and leaves nothing
// behind after a crash. Nothing is ever lost to it: if the file cannot be
// created, written or mapped (a full disk, no mmap on this platform), the
// chunks stay in the heap and the first failure is logged.
type textSpill struct {
	dir    string
	log    *slog.Logger
	f      *os.File // nil until the first seal
	size   int64    // bytes of the file in use (page aligned)
	maps   [][]byte // the mapped chunks, unmapped by close
	mapped int64    // bytes mapped
	failed bool     // a seal failed: every later chunk stays in the heap
}

// errNoSpill: mapping the written bytes gave a heap copy (the platform
// cannot map files; newIndex makes no spill there).
var errNoSpill = errors.New("no memory maps on this platform")

// seal writes c to the spill file and returns a read-only mapping of the
// written bytes (len and cap len(c)), or an error (c stays in the heap).
func (s *textSpill) seal(c []byte) ([]byte, error) {
	if len(c) == 0 {
		return c, nil
	}
	if s.f == nil {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.CreateTemp(s.dir, ".texts-*.spill")
		if err != nil {
			return nil, err
		}
		if err := os.Remove(f.Name()); err != nil {
			f.Close()
			return nil, err
		}
		s.f = f
	}
	off := s.size
	if _, err := s.f.WriteAt(c, off); err != nil {
		return nil, err
	}
	m, heap, err := mmapFile(s.f, off, len(c), true)
	if err != nil {
		return nil, err
	}
	if heap { // not a map after all: a heap copy, no better than c
		return nil, errNoSpill
	}
	page := int64(os.Getpagesize())
	s.size = off + (int64(len(c))+page-1)&^(page-1)
	s.maps = append(s.maps, m)
	s.mapped += int64(len(c))
	return m[:len(c):len(c)], nil
}

// close unmaps every sealed chunk and closes the file (which the kernel
// then frees: it was unlinked). No text of a sealed chunk may be read
// afterwards.
func (s *textSpill) close() error {
	var err error
	for _, m := range s.maps {
		if e := munmap(m); err == nil && e != nil {
			err = e
		}
	}
	s.maps, s.mapped = nil, 0
	if s.f != nil {
		if e := s.f.Close(); err == nil && e != nil {
			err = e
		}
		s.f = nil
	}
	if err != nil {
		return fmt.Errorf("text spill close: %w", err)
	}
	return nil
}
