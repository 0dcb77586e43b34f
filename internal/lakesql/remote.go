package lakesql

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/tubelake/tubelake/internal/lake"
)

// IsRemote reports whether lakeURL names an object store (anything but a
// plain path or file:// URL).
func IsRemote(lakeURL string) bool {
	return strings.Contains(lakeURL, "://") && !strings.HasPrefix(lakeURL, "file://")
}

// OpenURL opens the lake at lakeURL. A local lake is read in place. An
// object-store lake (s3://bucket?region=...&endpoint=...) is first mirrored
// into cacheDir (DuckDB's httpfs extension is not bundled, so DuckDB reads
// local copies): committed Parquet files are immutable, so later calls
// copy only new files and drop the ones compaction removed.
func OpenURL(ctx context.Context, lakeURL, cacheDir string) (*DB, lake.MirrorStats, error) {
	if !IsRemote(lakeURL) {
		db, err := Open(ctx, lakeURL)
		return db, lake.MirrorStats{}, err
	}
	if cacheDir == "" {
		return nil, lake.MirrorStats{}, fmt.Errorf("lakesql: a cache directory is required to query a remote lake")
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, lake.MirrorStats{}, fmt.Errorf("lakesql: %w", err)
	}
	l, err := lake.Open(ctx, lakeURL, lake.Options{})
	if err != nil {
		return nil, lake.MirrorStats{}, err
	}
	defer l.Close()
	st, err := l.Mirror(ctx, cacheDir)
	if err != nil {
		return nil, st, err
	}
	db, err := Open(ctx, cacheDir)
	return db, st, err
}
