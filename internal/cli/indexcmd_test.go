package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexRebuild imports videos, then rebuilds the index with
// `tubelake index rebuild` and checks that it reports every video and that
// a data directory without a lake is refused.
func TestIndexRebuild(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var lines []string
	for _, id := range []string{"aaaaaaaaaa1", "aaaaaaaaaa2", "aaaaaaaaaa3"} {
		lines = append(lines, sprintf(goodLine, id, "title "+id, "10"))
	}
	p := filepath.Join(dir, "a.jsonl")
	if err := os.WriteFile(p, []byte(jsonl(lines...)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := run(t, "import", "--data", data, "--observed-at", "2026-11-02T10:00:00Z", p); err != nil {
		t.Fatalf("import: %v\n%s", err, errOut)
	}
	out, errOut, err := run(t, "index", "rebuild", "--data", data)
	if err != nil || !strings.Contains(out, "index rebuilt") || !strings.Contains(out, ": 3 videos searchable") {
		t.Fatalf("rebuild: %v\n%s\n%s", err, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "index", "index.snap")); err != nil {
		t.Fatalf("no snapshot after the rebuild: %v", err)
	}
	if _, _, err := run(t, "index", "rebuild", "--data", filepath.Join(dir, "nothing")); err == nil || !strings.Contains(err.Error(), "no lake") {
		t.Fatalf("rebuild without a lake: %v", err)
	}
}
