package schedule

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// BenchmarkRefreshCycle measures the schedule's cost per refreshed video:
// lease 50 due videos, prepare (diff against the stored state) and commit.
func BenchmarkRefreshCycle(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "s.db"), Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 100_000
	vs := make([]NewVideo, n)
	for i := range vs {
		vs[i] = NewVideo{ID: fmt.Sprintf("%011d", i), ChannelID: "UCaaaaaaaaaaaaaaaaaaaaaa", Published: t0.Add(-30 * 24 * time.Hour)}
	}
	if _, err := s.AddVideos(vs, t0); err != nil {
		b.Fatal(err)
	}
	now := t0
	b.ResetTimer()
	done := 0
	for b.Loop() {
		l, err := s.Lease(Video, now, 50)
		if err != nil {
			b.Fatal(err)
		}
		if len(l) == 0 {
			now = now.Add(365 * 24 * time.Hour)
			continue
		}
		obs := make([]*yt.Video, len(l))
		for i, x := range l {
			obs[i] = video(x.ID, t0.Add(-30*24*time.Hour), int64(1000+done), "title", now)
		}
		bt, err := s.Prepare(now, obs, nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := bt.Commit(); err != nil {
			b.Fatal(err)
		}
		done += len(l)
	}
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "videos/s")
}
