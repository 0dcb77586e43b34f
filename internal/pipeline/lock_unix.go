//go:build unix

package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on dataDir/LOCK (flock: released when
// the file is closed or the process dies), so that two processes never
// run a pipeline, or a rebuild, over one data directory.
func lockDataDir(dataDir string) (*os.File, error) {
	path := filepath.Join(dataDir, "LOCK")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pipeline: lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("pipeline: data directory %s is in use by another tubelake process", dataDir)
		}
		return nil, fmt.Errorf("pipeline: lock %s: %w", path, err)
	}
	return f, nil
}
