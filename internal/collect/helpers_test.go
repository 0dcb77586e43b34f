package collect

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

// sharedData returns the path of a file in ../shared/data (relative to the
// repository root), skipping the test if the data is not there.
func sharedData(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real test data %s not available (%v): see ../shared/data/README.md", rel, err)
	}
	return p
}

func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedData(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slicePublisher appends every record under a mutex.
type slicePublisher struct {
	mu   sync.Mutex
	recs []yt.Record
}

func (p *slicePublisher) Publish(_ context.Context, recs ...yt.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recs = append(p.recs, recs...)
	return nil
}

func (p *slicePublisher) records() []yt.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]yt.Record(nil), p.recs...)
}

// logBuffer is a concurrency-safe buffer capturing slog output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTestLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}
