package index

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

func TestZZMem(t *testing.T) {
	if os.Getenv("ZZ") == "" {
		t.Skip()
	}
	specs := benchSpecs(t, benchDocs())
	recs := make([]yt.Record, len(specs))
	for i, s := range specs {
		recs[i] = s.rec()
	}
	h0 := heapInuse()
	ix := newMem(t)
	ix.Apply(context.Background(), recs)
	ix.bg.Wait()
	h1 := heapInuse()
	var lists, bms, listE, conts int
	for fi := range ix.post {
		for _, p := range ix.post[fi] {
			if p.list != nil {
				lists++
				listE += int(p.lcard)
			} else {
				bms++
				conts += int(p.bm.Stats().Containers)
			}
		}
	}
	st := ix.Stats()
	var kinds [5]int
	var kb [5]int
	var normB int
	for i := range ix.docs {
		r := ix.rec(uint32(i))
		for _, fi := range textFields {
			k := 0
			if r.patch[fi] != "" {
				k = int(r.patch[fi][0])
			}
			kinds[k]++
			kb[k] += len(r.patch[fi])
			normB += len(r.norm[fi])
		}
	}
	fmt.Println("patch kinds", kinds, "bytes", kb, "norm bytes", normB)
	fmt.Printf("heap %d MB, text %d MB, postAdded %d compacted %d lists %d (%d entries) bms %d (%d containers) arena %d MB garbage %d\n", (h1-h0)>>20, st.TextBytes>>20, ix.postAdded, ix.postCompacted, lists, listE, bms, conts, ix.arena.memBytes()>>20, ix.arena.garbage)
	ix.compactMin = 0
	ix.postAdded = 1 << 40
	ix.maybeCompact()
	h2 := heapInuse()
	fmt.Printf("after full compaction heap %d MB\n", (h2-h0)>>20)
	f, _ := os.Create("/tmp/prof/zz2.mem")
	pprof.WriteHeapProfile(f)
	f.Close()
	runtime.KeepAlive(recs)
	runtime.KeepAlive(ix)
}
