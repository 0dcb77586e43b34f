//go:build anchors

package searchbench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	_ "modernc.org/sqlite" // pure-Go SQLite with FTS5
)

// sqliteAnchor is SQLite FTS5 with the trigram tokenizer over an external
// content table; terms of three or more characters use MATCH, shorter ones
// LIKE (trigrams cannot answer them).
type sqliteAnchor struct {
	db  *sql.DB
	tx  *sql.Tx
	ins *sql.Stmt
}

func newSQLite(ctx context.Context, dir string) (*sqliteAnchor, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "bench.db"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	for _, s := range []string{
		"PRAGMA journal_mode = OFF",
		"PRAGMA synchronous = OFF",
		"PRAGMA cache_size = -262144", // 256 MiB
		"PRAGMA temp_store = MEMORY",
		"CREATE TABLE videos (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT NOT NULL, views INTEGER NOT NULL)",
		`CREATE VIRTUAL TABLE fts USING fts5(title, content='videos', content_rowid='rowid', tokenize="trigram case_sensitive 1")`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: %s: %w", s, err)
		}
	}
	a := &sqliteAnchor{db: db}
	if a.tx, err = db.BeginTx(ctx, nil); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if a.ins, err = a.tx.PrepareContext(ctx, "INSERT INTO videos (id, title, views) VALUES (?, ?, ?)"); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return a, nil
}

func (a *sqliteAnchor) Name() string { return "sqlite" }

func (a *sqliteAnchor) Add(ctx context.Context, docs []anchorDoc) error {
	for _, d := range docs {
		if _, err := a.ins.ExecContext(ctx, d.ID, d.Title, d.Views); err != nil {
			return fmt.Errorf("sqlite: insert: %w", err)
		}
	}
	return nil
}

// Finish builds the FTS index and the (views desc, id) index in one go.
func (a *sqliteAnchor) Finish(ctx context.Context) error {
	a.ins.Close()
	if err := a.tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	for _, s := range []string{
		"INSERT INTO fts(fts) VALUES ('rebuild')",
		"CREATE INDEX videos_views ON videos (views DESC, id)",
		"ANALYZE",
	} {
		if _, err := a.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("sqlite: %s: %w", s, err)
		}
	}
	return nil
}

func (a *sqliteAnchor) Search(ctx context.Context, terms []string, k int) ([]string, error) {
	var match []string
	var where []string
	var args []any
	for _, t := range terms {
		if utf8.RuneCountInString(t) >= 3 {
			match = append(match, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
		} else {
			where = append(where, `v.title LIKE ? ESCAPE '\'`)
			args = append(args, "%"+likeEscape(t)+"%")
		}
	}
	var q string
	if len(match) > 0 {
		q = "SELECT v.id FROM fts JOIN videos v ON v.rowid = fts.rowid WHERE fts MATCH ?"
		args = append([]any{strings.Join(match, " AND ")}, args...)
		for _, w := range where {
			q += " AND " + w
		}
	} else {
		q = "SELECT v.id FROM videos v WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY v.views DESC, v.id LIMIT %d", k)
	rows, err := a.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (a *sqliteAnchor) Close() error { return a.db.Close() }
