package cli

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestImportFromPostgresTwiceIsIdempotent imports a PostgreSQL table (the
// server .ci/deps/20-databases.sh starts) through the stream into the lake,
// twice, and checks the lake with `tubelake sql`.
func TestImportFromPostgresTwiceIsIdempotent(t *testing.T) {
	u := os.Getenv("TUBELAKE_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("TUBELAKE_TEST_POSTGRES_URL is not set: run .ci/deps/20-databases.sh (PostgreSQL on 127.0.0.1) to enable")
	}
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	table := fmt.Sprintf("tl_cli_%d", time.Now().UnixNano()%1e9)
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (vid TEXT, name TEXT, views BIGINT, crawled TIMESTAMPTZ)"); err != nil {
		t.Fatal(err)
	}
	defer db.ExecContext(ctx, "DROP TABLE "+table)
	for i := range 50 {
		if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" VALUES ($1, $2, $3, $4)",
			fmt.Sprintf("vid%08d", i), fmt.Sprintf("video %d", i), i*10, time.Date(2026, 11, 1+i%3, 8, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	data := t.TempDir()
	args := []string{"import", "--data", data, "--from", u, "--table", table, "--map", "id=vid,title=name,view_count=views,fetched_at=crawled"}
	for range 2 {
		out, errOut, err := run(t, args...)
		if err != nil || !strings.Contains(out, "imported 50 records") {
			t.Fatalf("import: %v\n%s\n%s", err, out, errOut)
		}
	}
	out, _, err := run(t, "sql", "--data", data, "--format", "csv", "SELECT count(*) AS n, sum(view_count) AS v FROM video_stats")
	if err != nil || !strings.Contains(out, "50,12250") {
		t.Fatalf("sql: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(data, "lake", "_tubelake", "commits", "lake.json")); err != nil {
		t.Errorf("lake commit manifest: %v", err)
	}
	_, _, err = run(t, "import", "--data", data, "--from", u, "--table", table)
	if err == nil || !strings.Contains(err.Error(), "--map") {
		t.Errorf("missing --map: %v", err)
	}
}
