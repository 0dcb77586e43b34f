package lakesql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/tubelake/tubelake/internal/lake"
)

// DB is a DuckDB instance (in memory) whose views read the lake's Parquet
// files. It is safe for concurrent use.
type DB struct {
	sql  *sql.DB
	conn *duckdb.Connector
	dir  string

	mu       sync.Mutex
	hasFiles map[string]bool // table -> a file was seen (its view reads files)
}

// View describes one SQL view over the lake.
type View struct {
	Name  string
	Table string // the lake table it reads
	// LatestBy, when set, keeps only the newest row per this key.
	LatestBy string
	TimeCol  string
}

// Views lists the views Open registers.
func Views() []View {
	return []View{
		{Name: "videos", Table: lake.TableVideos, LatestBy: "id", TimeCol: "fetched_at"},
		{Name: "video_history", Table: lake.TableVideos},
		{Name: "video_stats", Table: lake.TableVideoStats},
		{Name: "channels", Table: lake.TableChannels, LatestBy: "id", TimeCol: "fetched_at"},
		{Name: "channel_history", Table: lake.TableChannels},
		{Name: "channel_stats", Table: lake.TableChannelStats},
		{Name: "events", Table: lake.TableEvents},
	}
}

// Open starts an in-memory DuckDB over the lake in lakeDir (a directory or
// a file:// URL) and registers the views. Extension auto-install and
// auto-load are off (no network; the parquet, json and icu extensions are
// linked in), the session time zone is UTC, and the instance may read only
// inside lakeDir: external access is disabled except for that directory and
// the configuration is locked, so queries cannot reach other files.
func Open(ctx context.Context, lakeDir string) (*DB, error) {
	dir, err := localDir(lakeDir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("lakesql: lake dir: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("lakesql: lake dir %s is not a directory", dir)
	}
	connector, err := duckdb.NewConnector("?autoinstall_known_extensions=false&autoload_known_extensions=false", nil)
	if err != nil {
		return nil, fmt.Errorf("lakesql: start duckdb: %w", err)
	}
	db := &DB{sql: sql.OpenDB(connector), conn: connector, dir: dir, hasFiles: map[string]bool{}}
	setup := []string{
		"SET GLOBAL TimeZone = 'UTC'",
		"SET GLOBAL allowed_directories = [" + quote(dir+string(filepath.Separator)) + "]",
		"SET GLOBAL enable_external_access = false",
		"SET GLOBAL lock_configuration = true",
	}
	for _, s := range setup {
		if _, err := db.sql.ExecContext(ctx, s); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("lakesql: %s: %w", s, err)
		}
	}
	if err := db.refresh(ctx, true); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func localDir(lakeDir string) (string, error) {
	if lakeDir == "" {
		return "", errors.New("lakesql: empty lake dir")
	}
	if rest, ok := strings.CutPrefix(lakeDir, "file://"); ok {
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest = rest[:i]
		}
		lakeDir = filepath.FromSlash(rest)
	} else if strings.Contains(lakeDir, "://") {
		return "", fmt.Errorf("lakesql: only local lakes are supported, got %q", lakeDir)
	}
	abs, err := filepath.Abs(lakeDir)
	if err != nil {
		return "", fmt.Errorf("lakesql: %w", err)
	}
	return filepath.Clean(abs), nil
}

// Close shuts DuckDB down.
func (db *DB) Close() error {
	return db.sql.Close() // also closes the connector
}

// Dir is the lake directory the views read.
func (db *DB) Dir() string { return db.dir }

// refresh (re)creates the views of tables whose files appeared since the
// last call. An empty table has a typed empty view, so queries never fail
// because nothing was written yet. Tables never become empty again
// (compaction writes before it deletes), so a table is probed until its
// first file shows up and then never again.
func (db *DB) refresh(ctx context.Context, all bool) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	has := map[string]bool{}
	changed := map[string]bool{}
	for _, t := range lake.Tables() {
		has[t] = db.hasFiles[t]
		if has[t] {
			continue
		}
		m, err := filepath.Glob(filepath.Join(db.dir, t, "dt=*", "*.parquet"))
		if err != nil {
			return fmt.Errorf("lakesql: %w", err)
		}
		if len(m) > 0 {
			has[t], changed[t] = true, true
		}
	}
	for _, v := range Views() {
		if !all && !changed[v.Table] {
			continue
		}
		stmt := "CREATE OR REPLACE VIEW " + v.Name + " AS " + viewSQL(v, db.dir, has[v.Table])
		if _, err := db.sql.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("lakesql: create view %s: %w", v.Name, err)
		}
	}
	db.hasFiles = has
	return nil
}

// GlobFor is the read_parquet glob of a table under dir.
func GlobFor(dir, table string) string {
	return filepath.ToSlash(filepath.Join(dir, table)) + "/dt=*/*.parquet"
}

// viewSQL builds a view body. Every view dedupes by record_id first: the
// lake may hold a record twice (redelivered batch, compaction overlap), never
// two different rows with one record_id.
func viewSQL(v View, dir string, hasFiles bool) string {
	var src string
	if hasFiles {
		src = "SELECT * FROM read_parquet(" + quote(GlobFor(dir, v.Table)) +
			", hive_partitioning = true, union_by_name = true, hive_types = {'dt': DATE})" +
			" QUALIFY row_number() OVER (PARTITION BY record_id) = 1"
	} else {
		src = emptySelect(v.Table)
	}
	if v.LatestBy == "" {
		return src
	}
	return "SELECT * FROM (" + src + ") QUALIFY row_number() OVER (PARTITION BY " + v.LatestBy +
		" ORDER BY " + v.TimeCol + " DESC, record_id DESC) = 1"
}

// emptySelect is a zero-row SELECT with the table's columns and types.
func emptySelect(table string) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for _, c := range lake.Columns(table) {
		fmt.Fprintf(&b, "CAST(NULL AS %s) AS %s, ", duckType(c.Type), c.Name)
	}
	b.WriteString("CAST(NULL AS DATE) AS dt WHERE false")
	return b.String()
}

func duckType(t string) string {
	switch t {
	case "string":
		return "VARCHAR"
	case "int32":
		return "INTEGER"
	case "int64":
		return "BIGINT"
	case "bool":
		return "BOOLEAN"
	case "timestamp_us":
		return "TIMESTAMP WITH TIME ZONE"
	case "list<string>":
		return "VARCHAR[]"
	}
	panic("lakesql: no DuckDB type for " + t)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// Result is a fully materialized query result.
type Result struct {
	Columns []string
	Types   []string // DuckDB type names, parallel to Columns
	Rows    [][]any
}

// ErrNotReadOnly is returned for a statement that is not a query.
var ErrNotReadOnly = errors.New("lakesql: only read-only statements (SELECT, EXPLAIN, DESCRIBE, SHOW...) are allowed")

// Query runs one read-only statement and materializes its result. Values are
// normalized to nil, bool, int64, float64, string, time.Time (UTC),
// []byte, *big.Int, []any or map[string]any.
func (db *DB) Query(ctx context.Context, q string) (*Result, error) {
	conn, err := db.readConn(ctx, q)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// A compaction may delete a file between DuckDB's glob and its read;
	// the next attempt globs again and finds the compacted output.
	for attempt := 0; ; attempt++ {
		res, err := runQuery(ctx, conn, q)
		if err == nil || attempt >= 2 || ctx.Err() != nil || !vanishedFile(err) {
			return res, err
		}
	}
}

// readConn refreshes the views and returns a connection on which
// read-only query q may run (checkReadOnly).
func (db *DB) readConn(ctx context.Context, q string) (*sql.Conn, error) {
	if err := db.refresh(ctx, false); err != nil {
		return nil, err
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lakesql: %w", err)
	}
	if err := checkReadOnly(ctx, conn, q); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Each runs read-only query q and calls fn with every row as it streams
// from DuckDB (values as Query returns them; row is reused between calls),
// for results too large to hold. It stops at fn's first error.
func (db *DB) Each(ctx context.Context, q string, fn func(row []any) error) error {
	conn, err := db.readConn(ctx, q)
	if err != nil {
		return err
	}
	defer conn.Close()
	return eachRow(ctx, conn, q, nil, fn)
}

func vanishedFile(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "No such file or directory") || strings.Contains(msg, "No files found")
}

func runQuery(ctx context.Context, conn *sql.Conn, q string) (*Result, error) {
	res := &Result{Rows: [][]any{}}
	head := func(rows *sql.Rows) error {
		cts, err := rows.ColumnTypes()
		if err != nil {
			return err
		}
		for _, ct := range cts {
			res.Columns = append(res.Columns, ct.Name())
			res.Types = append(res.Types, ct.DatabaseTypeName())
		}
		return nil
	}
	err := eachRow(ctx, conn, q, head, func(row []any) error {
		res.Rows = append(res.Rows, slices.Clone(row))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// eachRow runs q on conn and calls fn with every row, normalized, in one
// reused slice; head (if set) sees the result's columns first.
func eachRow(ctx context.Context, conn *sql.Conn, q string, head func(*sql.Rows) error, fn func(row []any) error) error {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("lakesql: query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("lakesql: %w", err)
	}
	if head != nil {
		if err := head(rows); err != nil {
			return fmt.Errorf("lakesql: %w", err)
		}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("lakesql: scan: %w", err)
		}
		for i := range vals {
			vals[i] = normalize(vals[i])
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lakesql: query: %w", err)
	}
	return nil
}

// checkReadOnly prepares q and accepts only statement types that cannot
// change state. Preparing also rejects multi-statement strings.
func checkReadOnly(ctx context.Context, conn *sql.Conn, q string) error {
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return errors.New("lakesql: driver cannot prepare")
		}
		st, err := pc.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("lakesql: %w", err)
		}
		defer st.Close()
		ds, ok := st.(*duckdb.Stmt)
		if !ok {
			return errors.New("lakesql: unexpected statement type")
		}
		typ, err := ds.StatementType()
		if err != nil {
			return fmt.Errorf("lakesql: %w", err)
		}
		switch typ {
		case duckdb.STATEMENT_TYPE_SELECT, duckdb.STATEMENT_TYPE_EXPLAIN:
			return nil
		}
		return ErrNotReadOnly
	})
}
