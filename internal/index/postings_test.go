package index

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/tubelake/tubelake/internal/yt"
)

// TestFrozenPosting walks a posting through its forms: settled as a frozen
// blob, additions beside the blob, thawed by an out-of-order add or a
// removal, settled again; the doc set always equals the model and the blob
// is never written.
func TestFrozenPosting(t *testing.T) {
	var model []uint32
	p := &posting{}
	slab := &listSlab{}
	var scratch []byte
	var docs []uint32
	check := func(step string) {
		t.Helper()
		slices.Sort(model)
		model = slices.Compact(model)
		if got := p.bitmap().ToArray(); !slices.Equal(got, model) {
			t.Fatalf("%s: docs %v, want %v", step, got, model)
		}
		if p.card() != uint64(len(model)) {
			t.Fatalf("%s: card %d, want %d", step, p.card(), len(model))
		}
	}
	settleNow := func(listCap int) {
		s := settle(p, listCap, &scratch, &docs)
		s.install(slab)
	}
	var first []uint32
	for d := uint32(0); d < 196000; d += 7 {
		first = append(first, d)
	}
	p.addMany(first)
	model = append(model, first...)
	check("bitmap")
	settleNow(0)
	if p.frozen == nil || p.bm != nil || p.dirty {
		t.Fatalf("not frozen: %+v", p)
	}
	if len(p.frozen) < bigBlob {
		t.Fatalf("blob of %d bytes: want one of its own", len(p.frozen))
	}
	blob := bytes.Clone(p.frozen)
	check("frozen")

	// Larger docs join the additions; the blob stays.
	p.addMany([]uint32{196001, 196002, 200000})
	model = append(model, 196001, 196002, 200000)
	if p.frozen == nil || p.bm.GetCardinality() != 3 || !p.dirty {
		t.Fatalf("additions: %+v", p)
	}
	check("frozen + additions")
	// A query's view with the additions ORed in must not write the blob.
	v := p.bitmap()
	v.Add(5)
	v.Remove(0)
	if !bytes.Equal(p.frozen, blob) {
		t.Fatal("a view wrote the blob")
	}
	check("after view writes")

	// Settled again: one blob with the additions.
	settleNow(0)
	if p.frozen == nil || p.bm != nil || p.fmax != 200000 {
		t.Fatalf("resettled: %+v", p)
	}
	check("resettled")
	blob = bytes.Clone(p.frozen)

	// An out-of-order add thaws; the thawed bitmap shares the blob's
	// containers copy-on-write.
	p.addMany([]uint32{3})
	model = append(model, 3)
	if p.frozen != nil {
		t.Fatal("out-of-order add did not thaw")
	}
	p.writable().Remove(7)
	model = slices.DeleteFunc(model, func(d uint32) bool { return d == 7 })
	check("thawed")
	// The old blob is garbage now but must be unchanged (a view from
	// before may still read it).
	old := roaring.New()
	if _, err := old.FromBuffer(blob); err != nil {
		t.Fatal(err)
	}
	if !old.Contains(7) || old.Contains(3) {
		t.Fatal("thawed writes reached the blob")
	}

	// A small posting settles as a list in the slab.
	q := &posting{}
	q.addMany([]uint32{1, 2, 100000})
	s := settle(q, listMax, &scratch, &docs)
	s.install(slab)
	if q.list == nil || q.frozen != nil || q.lcard != 3 || q.llast != 100000 {
		t.Fatalf("small posting: %+v", q)
	}
	if got := q.bitmap().ToArray(); !slices.Equal(got, []uint32{1, 2, 100000}) {
		t.Fatalf("list docs %v", got)
	}
	// It grows in place into the room reserved after it in the slab, then
	// moves to the heap once the room is used up.
	if !q.slabList || cap(q.list) <= len(q.list) {
		t.Fatalf("slab list without room: len %d cap %d", len(q.list), cap(q.list))
	}
	at := &q.list[0]
	want := []uint32{1, 2, 100000}
	for d := uint32(100001); q.slabList; d++ {
		if d%2 == 0 {
			q.appendListMany([]uint32{d})
		} else {
			q.appendList(d)
		}
		want = append(want, d)
		if q.slabList && &q.list[0] != at {
			t.Fatal("slab list moved but still marked as in the slab")
		}
	}
	if &q.list[0] == at {
		t.Fatal("list outgrew its room in place")
	}
	if got := q.bitmap().ToArray(); !slices.Equal(got, want) {
		t.Fatalf("grown list docs %v, want %v", got, want)
	}

	// Removing every doc leaves an empty posting.
	e := &posting{}
	e.addMany([]uint32{9})
	e.writable().Remove(9)
	s = settle(e, 0, &scratch, &docs)
	s.install(slab)
	if !e.isEmpty() || e.card() != 0 {
		t.Fatalf("emptied posting: %+v", e)
	}
}

// postingForms counts the postings of ix by form.
func postingForms(ix *Index) (lists, frozen, bitmaps int) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	for fi := range ix.post {
		for _, p := range ix.post[fi] {
			switch {
			case p.list != nil:
				lists++
			case p.frozen != nil:
				frozen++
			case p.bm != nil && !p.bm.IsEmpty():
				bitmaps++
			}
		}
	}
	return
}

// TestFlushOpenFrozen reopens an index whose big postings were frozen: they
// load as frozen blobs and answer as before, and new docs join them.
func TestFlushOpenFrozen(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.compactMin = 0
	var recs []yt.Record
	for i := range 5000 {
		recs = append(recs, vspec{id: vidID(i), title: "영어 먹방 " + string(rune('가'+i%50)), views: int64(i), pub: t0}.rec())
	}
	mustApply(t, ix, recs...)
	mustApply(t, ix, vspec{id: vidID(5000), title: "영어", views: 1, pub: t0}.rec())
	if _, frozen, _ := postingForms(ix); frozen == 0 {
		t.Fatal("no frozen postings")
	}
	ix2 := flushReopen(t, ix, dir)
	if _, frozen, bitmaps := postingForms(ix2); frozen == 0 || bitmaps != 0 {
		t.Fatalf("reopened: %d frozen, %d bitmaps", frozen, bitmaps)
	}
	mustTotal(t, ix2, Query{Q: "영어", ExactTotal: true}, 5001)
	mustTotal(t, ix2, Query{Q: "먹방 가", ExactTotal: true}, 100)
	mustApply(t, ix2, vspec{id: vidID(5001), title: "먹방 가", views: 1, pub: t0}.rec())
	mustTotal(t, ix2, Query{Q: "먹방 가", ExactTotal: true}, 101)
	mustApply(t, ix2, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(0), ObservedAt: t0.Add(time.Hour)}))
	mustTotal(t, ix2, Query{Q: "먹방 가", ExactTotal: true}, 100)
}

// TestListPortable: a snapshot writes list postings straight from the list;
// the bytes must be what roaring writes for the same docs.
func TestListPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var docs []uint32
	for _, c := range []struct{ n, containers int }{{1, 1}, {2, 1}, {7, 2}, {30, 3}, {31, 4}, {100, 5}, {listMax, 1}, {listMax, 40}, {listMax, 1000}} {
		p := &posting{}
		var want []uint32
		for range c.n {
			want = append(want, uint32(r.IntN(c.containers))<<16|uint32(r.IntN(1<<16)))
		}
		slices.Sort(want)
		want = slices.Compact(want)
		for _, d := range want {
			if !p.appendList(d) {
				t.Fatalf("list refused doc %d", d)
			}
		}
		bm := roaring.BitmapOf(want...)
		exp, err := bm.ToBytes()
		if err != nil {
			t.Fatal(err)
		}
		got := p.appendListPortable([]byte("prefix"), &docs)
		if string(got[:6]) != "prefix" || !bytes.Equal(got[6:], exp) {
			t.Fatalf("%d docs in %d containers: %d bytes, roaring writes %d (equal prefix: %v)", len(want), bm.Stats().Containers, len(got)-6, len(exp), bytes.HasPrefix(got[6:], exp[:min(len(exp), 8)]))
		}
		back := roaring.New()
		if _, err := back.FromBuffer(got[6:]); err != nil || !back.Equals(bm) {
			t.Fatalf("%d docs: read back %v (%v)", len(want), back.GetCardinality(), err)
		}
	}
}
