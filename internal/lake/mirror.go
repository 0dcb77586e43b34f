package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3://bucket?region=...&endpoint=...&use_path_style=true
)

// MirrorStats reports what Mirror did.
type MirrorStats struct {
	Files      int   // data files in the lake
	Downloaded int   // files copied (new or changed size)
	Removed    int   // local files no longer in the lake (compacted away)
	Bytes      int64 // bytes copied
}

// Mirror makes dir an exact local copy of the lake's committed data files
// (<table>/dt=*/*.parquet), for engines that read only local files (DuckDB
// without httpfs). Files are immutable once committed, so a file already
// present with the same size is not copied again; each copy is written to a
// temp name and renamed, so a concurrent reader of dir never sees a partial
// file. Local files the lake no longer has are removed.
func (l *Lake) Mirror(ctx context.Context, dir string) (MirrorStats, error) {
	var st MirrorStats
	want := map[string]bool{}
	for _, table := range Tables() {
		it := l.bucket.List(&blob.ListOptions{Prefix: table + "/dt="})
		for {
			obj, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return st, fmt.Errorf("lake: mirror: list %s: %w", table, err)
			}
			if obj.IsDir || !strings.HasSuffix(obj.Key, partSuffix) {
				continue
			}
			st.Files++
			local := filepath.Join(dir, filepath.FromSlash(obj.Key))
			want[local] = true
			if fi, err := os.Stat(local); err == nil && fi.Size() == obj.Size {
				continue
			}
			n, err := l.download(ctx, obj.Key, local)
			if err != nil {
				return st, err
			}
			st.Downloaded++
			st.Bytes += n
		}
		root := filepath.Join(dir, table)
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if !want[p] {
				if os.Remove(p) == nil {
					st.Removed++
				}
			}
			return nil
		})
	}
	return st, nil
}

func (l *Lake) download(ctx context.Context, key, local string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return 0, fmt.Errorf("lake: mirror: %w", err)
	}
	r, err := l.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return 0, fmt.Errorf("lake: mirror %s: %w", key, err)
	}
	defer r.Close()
	f, err := os.CreateTemp(filepath.Dir(local), ".mirror-*.tmp")
	if err != nil {
		return 0, fmt.Errorf("lake: mirror: %w", err)
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), local)
	}
	if err != nil {
		os.Remove(f.Name())
		return n, fmt.Errorf("lake: mirror %s: %w", key, err)
	}
	return n, nil
}
