package durable

import (
	"fmt"
	"os"
)

// SyncDir fsyncs directory dir, so the renames, creations and removals of
// its entries done so far survive a crash.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
