package quota

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// fileFormat is the on-disk form of a ledger (key fingerprints only).
type fileFormat struct {
	Version int     `json:"version"`
	Buckets []Usage `json:"buckets"`
}

// SaveFile writes the ledger's state to path atomically (temp file, fsync,
// rename), so a crash leaves either the old or the new state.
func (l *Ledger) SaveFile(path string) error {
	b, err := json.MarshalIndent(fileFormat{Version: 1, Buckets: l.Snapshot()}, "", " ")
	if err != nil {
		return fmt.Errorf("quota: encode ledger: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".quota-*.tmp")
	if err != nil {
		return fmt.Errorf("quota: save ledger: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("quota: save ledger: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("quota: save ledger: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("quota: save ledger: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("quota: save ledger: %w", err)
	}
	return nil
}

// LoadFile restores a state written by SaveFile. A missing file is not an
// error (a fresh ledger).
func (l *Ledger) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota: load ledger: %w", err)
	}
	var f fileFormat
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("quota: load ledger %s: %w", path, err)
	}
	if f.Version != 1 {
		return fmt.Errorf("quota: load ledger %s: unsupported version %d", path, f.Version)
	}
	l.Restore(f.Buckets)
	return nil
}
