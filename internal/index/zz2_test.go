package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

func TestZZStats(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	specs := benchSpecs(t, benchDocs())
	recs := make([]yt.Record, len(specs))
	for i, s := range specs {
		recs[i] = s.rec()
	}
	ix := newMem(t)
	ix.Apply(context.Background(), recs)
	ix.bg.Wait()
	f, _ := os.Create("/tmp/prof/stats.cpu")
	pprof.StartCPUProfile(f)
	r := rand.New(rand.NewPCG(3, 4))
	batch := make([]yt.Record, 10000)
	var cpu time.Duration
	for round := 1; round <= 150; round++ {
		for i := range batch {
			s := specs[r.IntN(len(specs))]
			s.views += int64(r.IntN(100000) + round)
			s.fetched = t0.Add(time.Duration(round) * time.Second)
			batch[i] = s.rec()
		}
		c0 := cpuTime()
		ix.Apply(context.Background(), batch)
		cpu += cpuTime() - c0
	}
	pprof.StopCPUProfile()
	f.Close()
	fmt.Printf("stats updates/cpu-s %.0f\n", 1500000/cpu.Seconds())
}
