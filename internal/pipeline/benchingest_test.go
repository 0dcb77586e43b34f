package pipeline

import (
	"reflect"
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

// TestSynthReuseBuildsTheReference: the publishers' generator, which
// reuses its storage batch after batch (reset), builds the same records
// as SyntheticVideo, and each batch's records are intact until the next reset.
func TestSynthReuseBuildsTheReference(t *testing.T) {
	const n, days = 100_000, 10
	var g synth
	var batch []yt.Record
	for lo := 0; lo < 3000; lo += 700 {
		hi := min(lo+700, 3000)
		g.reset(hi - lo)
		batch = batch[:0]
		for i := lo; i < hi; i++ {
			batch = append(batch, g.video(i, n, days))
		}
		for k, got := range batch {
			want := syntheticVideoReference(lo+k, n, days)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("record %d:\n got %+v %+v\nwant %+v %+v", lo+k, got, *got.Video, want, *want.Video)
			}
		}
	}
}
