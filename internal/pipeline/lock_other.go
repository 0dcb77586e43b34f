//go:build !unix

package pipeline

import "os"

// lockDataDir: no advisory file locks here; the data directory is not
// guarded against a second process.
func lockDataDir(string) (*os.File, error) { return nil, nil }
