package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLakeCompactKeepsCounts imports two files (plus one again) as separate
// batches, compacts with `tubelake lake compact` and checks that every
// partition has one file and `tubelake sql` counts are unchanged.
func TestLakeCompactKeepsCounts(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var files []string
	for f, ids := range map[string][]string{"a.jsonl": {"aaaaaaaaaa1", "aaaaaaaaaa2"}, "b.jsonl": {"bbbbbbbbbb1", "bbbbbbbbbb2", "bbbbbbbbbb3"}} {
		var lines []string
		for _, id := range ids {
			lines = append(lines, sprintf(goodLine, id, "title "+id, "10"))
		}
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, []byte(jsonl(lines...)), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for _, f := range append(files, files[0]) {
		if _, errOut, err := run(t, "import", "--data", data, "--observed-at", "2026-11-02T10:00:00Z", f); err != nil {
			t.Fatalf("import %s: %v\n%s", f, err, errOut)
		}
	}
	count := func() string {
		out, _, err := run(t, "sql", "--data", data, "--format", "csv", "SELECT count(*) AS n FROM video_stats")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := count()
	parquet := func() int {
		m, _ := filepath.Glob(filepath.Join(data, "lake", "video_stats", "dt=*", "*.parquet"))
		return len(m)
	}
	if parquet() < 2 {
		t.Fatalf("expected several files before compaction, got %d", parquet())
	}
	out, _, err := run(t, "lake", "compact", "--data", data)
	if err != nil || !strings.Contains(out, "compacted") {
		t.Fatalf("compact: %v %s", err, out)
	}
	if n := parquet(); n != 1 {
		t.Fatalf("%d video_stats files after compaction, want 1", n)
	}
	if after := count(); after != before || !strings.Contains(after, "5") {
		t.Fatalf("counts changed by compaction: %q -> %q", before, after)
	}
	if _, _, err := run(t, "lake", "compact", "--data", data, "--table", "nope"); err == nil {
		t.Fatal("unknown table accepted")
	}
}
