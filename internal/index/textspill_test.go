package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// TestArenaSpill fills an arena with a spill (every full chunk sealed)
// with records of every size, big ones included, and reads each back
// through its reference: from the heap chunk it was written to, then from
// the map that replaced it.
func TestArenaSpill(t *testing.T) {
	if !canMmap {
		t.Skip("no memory maps on this platform")
	}
	dir := t.TempDir()
	a := &textArena{spill: &textSpill{dir: dir, log: slog.New(slog.DiscardHandler)}}
	rng := rand.New(rand.NewPCG(1, 2))
	var recs [][]byte
	var refs []uint64
	for i := range 3000 {
		n := rng.IntN(3000)
		if i%500 == 7 {
			n = arenaChunk/4 + 1 + rng.IntN(1000) // a chunk of its own
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		refs = append(refs, a.put(b))
		recs = append(recs, b)
		// The record just written reads back before any seal moves it.
		if got := a.rec(refs[i]); !bytes.HasPrefix(got, b) {
			t.Fatalf("record %d: read back %d bytes differ", i, len(b))
		}
	}
	for i, ref := range refs {
		if got := a.rec(ref); !bytes.HasPrefix(got, recs[i]) {
			t.Fatalf("record %d (%d bytes) differs after the seals", i, len(recs[i]))
		}
	}
	sp := a.spill
	if sp.failed || len(sp.maps) == 0 || len(sp.maps) != len(a.chunks)-1 {
		t.Fatalf("%d chunks, %d mapped (failed %v): every chunk but the last should be mapped", len(a.chunks), len(sp.maps), sp.failed)
	}
	var total int64
	for _, c := range a.chunks {
		total += int64(cap(c))
	}
	if a.mappedBytes() == 0 || a.memBytes()+a.mappedBytes() != total || a.memBytes() != int64(cap(a.chunks[len(a.chunks)-1])) {
		t.Fatalf("heap %d + mapped %d bytes, chunks %d: only the last chunk should be in the heap", a.memBytes(), a.mappedBytes(), total)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the spill file should be unlinked, the directory holds %v", ents)
	}
	if err := a.close(); err != nil {
		t.Fatal(err)
	}
}

// TestArenaSpillFails: when the spill file cannot be made, the texts stay
// in the heap, whole, and the failure is logged once.
func TestArenaSpillFails(t *testing.T) {
	var logBuf bytes.Buffer
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a := &textArena{spill: &textSpill{dir: file, log: slog.New(slog.NewTextHandler(&logBuf, nil))}}
	var refs []uint64
	for i := range 200 {
		refs = append(refs, a.put(bytes.Repeat([]byte{byte(i)}, 1000+i)))
	}
	for i, ref := range refs {
		if got := a.rec(ref); !bytes.HasPrefix(got, bytes.Repeat([]byte{byte(i)}, 1000+i)) {
			t.Fatalf("record %d differs", i)
		}
	}
	if !a.spill.failed || a.mappedBytes() != 0 || len(a.chunks) < 3 {
		t.Fatalf("failed %v, mapped %d, %d chunks: want every chunk in the heap after a failure", a.spill.failed, a.mappedBytes(), len(a.chunks))
	}
	if n := strings.Count(logBuf.String(), "cannot spill"); n != 1 {
		t.Fatalf("the failure was logged %d times, want once: %s", n, logBuf.String())
	}
}

// TestIndexTextSpill indexes the same videos into an index whose texts
// spill to its directory (every full chunk) and into one that keeps them
// in the heap, and checks that searches, videos and snapshots agree; after
// Close, the spilled index answers ErrClosed rather than reading unmapped
// texts.
func TestIndexTextSpill(t *testing.T) {
	if !canMmap {
		t.Skip("no memory maps on this platform")
	}
	dir := t.TempDir()
	sp, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sp.arena.sealMin = 0
	heap := newMem(t)
	words := []string{"영어", "먹방", "Minecraft", "초등", "VLOG", "ゲーム", "실황", "ASMR", "공부", "Music", "ｆｕｌｌ"}
	rng := rand.New(rand.NewPCG(3, 4))
	text := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString(string(rune('가' + rng.IntN(40))))
			b.WriteByte(' ')
		}
		return b.String()
	}
	var recs []yt.Record
	for i := range 6000 {
		recs = append(recs, vspec{id: vidID(i), title: text(3), desc: text(20 + rng.IntN(60)), tags: []string{words[i%len(words)], "Tag " + fmt.Sprint(i%7)},
			chanID: chanID(i % 5), chanTitle: "채널 " + fmt.Sprint(i%5), lang: "ko", views: int64(rng.IntN(1e6)), pub: t0.Add(time.Duration(i) * time.Minute)}.rec())
	}
	// A second round edits some titles (new records in the arena).
	for i := 0; i < 6000; i += 7 {
		recs = append(recs, vspec{id: vidID(i), title: "edited " + text(2), desc: text(5), chanID: chanID(i % 5), chanTitle: "채널 " + fmt.Sprint(i%5),
			lang: "ko", views: 5, pub: t0.Add(time.Duration(i) * time.Minute), fetched: t0.Add(48 * time.Hour)}.rec())
	}
	for _, ix := range []*Index{sp, heap} {
		for lo := 0; lo < len(recs); lo += 1000 {
			mustApply(t, ix, recs[lo:min(lo+1000, len(recs))]...)
		}
	}
	st := sp.Stats()
	if st.TextMappedBytes == 0 || len(sp.arena.spill.maps) < 3 {
		t.Fatalf("texts mapped %d bytes in %d maps: the arena should have spilled", st.TextMappedBytes, len(sp.arena.spill.maps))
	}
	if hs := heap.Stats(); hs.TextMappedBytes != 0 || st.MemBytes >= hs.MemBytes {
		t.Fatalf("heap index: texts mapped %d, mem %d; spilled index mem %d: spilling should lower the estimate", hs.TextMappedBytes, hs.MemBytes, st.MemBytes)
	}
	check := func(when string, got *Index) {
		t.Helper()
		for _, q := range []Query{{Q: "영어"}, {Q: "먹방 가", In: []Field{FieldTitle, FieldDescription}, Sort: SortViews},
			{Q: "edited", Sort: SortRecent, Limit: 100}, {Q: "full", In: []Field{FieldDescription}, ExactTotal: true},
			{Q: "tag 3", In: []Field{FieldTags}, Sort: SortViews}, {Q: "ㅊㄷ", Initials: true}} {
			a, err := got.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			b, err := heap.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Items) == 0 {
				t.Fatalf("%+v: no hits in the heap index", q)
			}
			a.TookMicros, b.TookMicros = 0, 0
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: %+v: spilled index answers %d hits (total %d), heap index %d (total %d)", when, q, len(a.Items), a.Total, len(b.Items), b.Total)
			}
		}
		for i := 0; i < 6000; i += 97 {
			a, okA := got.VideoDoc(vidID(i))
			b, okB := heap.VideoDoc(vidID(i))
			if !okA || !okB || !reflect.DeepEqual(a, b) {
				t.Fatalf("%s: video %d differs:\n%+v\n%+v", when, i, a, b)
			}
		}
	}
	check("live", sp)
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("the spill file should be unlinked, the directory holds %v", ents)
	}
	// The snapshot holds the spilled texts.
	if err := sp.Flush(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	hit, _ := sp.Video(vidID(14))
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if hit.Title == "" || !strings.HasPrefix(hit.Title, "edited ") || len(hit.Tags) != 0 {
		t.Fatalf("a hit taken before Close: %+v", hit) // still readable: hits hold copies
	}
	if _, ok := sp.Video(vidID(1)); ok {
		t.Fatal("Video after Close found a video")
	}
	if _, ok := sp.VideoDoc(vidID(1)); ok {
		t.Fatal("VideoDoc after Close found a video")
	}
	if _, err := sp.Search(context.Background(), Query{Q: "영어"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Search after Close: %v, want ErrClosed", err)
	}
	_ = sp.Stats() // after Close: must not read the unmapped texts
	re, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	check("reopened", re) // (its few MiB of text stay in the heap: sealMin is 4 MiB)
}
