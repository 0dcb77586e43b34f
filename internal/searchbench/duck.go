package searchbench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/tubelake/tubelake/internal/lakesql"
)

// duckAnchor is DuckDB (through internal/lakesql) over Hive-partitioned
// Parquet, partitioned by publish year: a local stand-in for Athena.
type duckAnchor struct {
	dir     string
	writers map[int]*duckFile
	db      *lakesql.DB
}

type duckRow struct {
	VideoID   string `parquet:"video_id"`
	Title     string `parquet:"title"`
	ViewCount int64  `parquet:"view_count"`
}

type duckFile struct {
	f *os.File
	w *parquet.GenericWriter[duckRow]
}

func newDuck(dir string) (*duckAnchor, error) {
	if err := os.MkdirAll(filepath.Join(dir, "bench_videos"), 0o755); err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	return &duckAnchor{dir: dir, writers: map[int]*duckFile{}}, nil
}

func (a *duckAnchor) Name() string { return "duckdb" }

func (a *duckAnchor) Add(_ context.Context, docs []anchorDoc) error {
	for _, d := range docs {
		w := a.writers[d.Year]
		if w == nil {
			p := filepath.Join(a.dir, "bench_videos", "year="+strconv.Itoa(d.Year))
			if err := os.MkdirAll(p, 0o755); err != nil {
				return fmt.Errorf("duckdb: %w", err)
			}
			f, err := os.Create(filepath.Join(p, "part-00000.parquet"))
			if err != nil {
				return fmt.Errorf("duckdb: %w", err)
			}
			w = &duckFile{f: f, w: parquet.NewGenericWriter[duckRow](f, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(128*1024))}
			a.writers[d.Year] = w
		}
		if _, err := w.w.Write([]duckRow{{VideoID: d.ID, Title: d.Title, ViewCount: d.Views}}); err != nil {
			return fmt.Errorf("duckdb: write parquet: %w", err)
		}
	}
	return nil
}

func (a *duckAnchor) Finish(ctx context.Context) error {
	for _, w := range a.writers {
		if err := w.w.Close(); err != nil {
			return fmt.Errorf("duckdb: close parquet: %w", err)
		}
		if err := w.f.Close(); err != nil {
			return fmt.Errorf("duckdb: %w", err)
		}
	}
	db, err := lakesql.Open(ctx, a.dir)
	if err != nil {
		return err
	}
	a.db = db
	return nil
}

func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (a *duckAnchor) Search(ctx context.Context, terms []string, k int) ([]string, error) {
	var where []string
	for _, t := range terms {
		where = append(where, "title ILIKE "+sqlQuote("%"+likeEscape(t)+"%")+` ESCAPE '\'`)
	}
	glob := filepath.ToSlash(filepath.Join(a.dir, "bench_videos", "*", "*.parquet"))
	q := fmt.Sprintf("SELECT video_id FROM read_parquet(%s, hive_partitioning = true) WHERE %s ORDER BY view_count DESC, video_id LIMIT %d",
		sqlQuote(glob), strings.Join(where, " AND "), k)
	res, err := a.db.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	ids := make([]string, 0, len(res.Rows))
	for _, row := range res.Rows {
		s, _ := row[0].(string)
		ids = append(ids, s)
	}
	return ids, nil
}

func (a *duckAnchor) Close() error {
	if a.db != nil {
		return a.db.Close()
	}
	return nil
}
