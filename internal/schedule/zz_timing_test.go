package schedule

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestAddManyTiming(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Config{})
	defer s.Close()
	var vs []NewVideo
	for i := range 200000 {
		vs = append(vs, NewVideo{ID: fmt.Sprintf("%011x", uint64(i)*2654435761%(1<<40)), ChannelID: "UCaaaaaaaaaaaaaaaaaaaaaa", Published: t0})
	}
	st := time.Now()
	n, err := s.AddVideos(vs, t0)
	t.Logf("added %d in %s (%v)", n, time.Since(st), err)
	st = time.Now()
	l, _ := s.Lease(Video, t0, 6400)
	t.Logf("leased %d in %s", len(l), time.Since(st))
}
