package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

// benchFile benchmarks importing a real file (decompressed up front, so the
// parser is measured rather than gzip).
func benchFile(b *testing.B, rel string) {
	f, err := os.Open(filepath.Join(sharedData, rel))
	if err != nil {
		b.Skipf("real test data not found (%v)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		_, err := Read(context.Background(), bytes.NewReader(data), rel, Options{ObservedAt: observed}, func(context.Context, []yt.Record) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadRsrishavCSV(b *testing.B) {
	benchFile(b, "trending/kaggle-rsrishav-2020-08-sample/KR_youtube_trending_data.csv.gz")
}

func BenchmarkReadFedelux3JSONL(b *testing.B) {
	benchFile(b, "trending/fedelux3-2020-04-kr/KR_videos_2020-04-01_to_2020-04-04.jsonl.gz")
}

func BenchmarkReadMostPopularCSV(b *testing.B) {
	benchFile(b, "trending/kr-jp-us-mostpopular-2025-11/videos_latest.csv.gz")
}
