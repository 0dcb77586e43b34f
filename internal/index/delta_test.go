package index

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// indexState is everything an index holds that a snapshot must keep, in a
// comparable form: per doc its id, fields, raw and normalized texts and
// columns; the channels; every posting's docs.
type indexState struct {
	Docs     []docState
	Channels map[string]string
	Postings [nFields]map[uint64][]uint32
	Live     int
}

type docState struct {
	ID                                string
	Fetched, TextAt, ChanAt, Tomb     int64
	ChanID, ChanTitle, Cat, Lang, Dur string
	Alive                             bool
	Views, Likes, Comments, Pub       int64
	Norm                              [nFields]string
	Title, Desc, Thumb                string
	Tags                              []string
}

func stateOf(t *testing.T, ix *Index) indexState {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st := indexState{Channels: map[string]string{}, Live: ix.live}
	for n := range uint32(ix.docs.len()) {
		d := ix.docs.at(n)
		ds := docState{
			ID: ix.docID(uint32(n)), Fetched: d.fetched, TextAt: d.textAt, ChanAt: d.chanAt, Tomb: d.tomb,
			ChanID: ix.strs.str(d.chanID), ChanTitle: ix.strs.str(d.chanTitle), Cat: ix.strs.str(d.catID),
			Lang: ix.strs.str(d.lang), Dur: ix.strs.str(d.dur), Alive: d.alive,
			Views: *ix.views.at(n), Likes: *ix.likes.at(n), Comments: *ix.comments.at(n), Pub: *ix.pub.at(n),
		}
		if d.text != noText {
			r := ix.rec(uint32(n))
			ds.Norm = r.norm
			ds.Norm[fChannel] = ""
			ds.Title, ds.Desc, ds.Thumb = rawString(r.norm[fTitle], r.patch[fTitle]), rawString(r.norm[fDesc], r.patch[fDesc]), r.thumb
			ds.Tags = rawTags(r.norm[fTags], r.patch[fTags])
		}
		st.Docs = append(st.Docs, ds)
	}
	for id, c := range ix.channels {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		st.Channels[id] = string(b)
	}
	for fi := range ix.post {
		st.Postings[fi] = map[uint64][]uint32{}
		for k, p := range ix.post[fi] {
			st.Postings[fi][k] = p.bitmap().ToArray()
		}
	}
	return st
}

// sameState fails the test at the first difference between two states.
func sameState(t *testing.T, when string, want, got indexState) {
	t.Helper()
	if len(want.Docs) != len(got.Docs) || want.Live != got.Live {
		t.Fatalf("%s: %d docs (%d live), want %d (%d live)", when, len(got.Docs), got.Live, len(want.Docs), want.Live)
	}
	for n := range want.Docs {
		if !reflect.DeepEqual(want.Docs[n], got.Docs[n]) {
			t.Fatalf("%s: doc %d:\n got %+v\nwant %+v", when, n, got.Docs[n], want.Docs[n])
		}
	}
	if !reflect.DeepEqual(want.Channels, got.Channels) {
		t.Fatalf("%s: channels:\n got %v\nwant %v", when, got.Channels, want.Channels)
	}
	for fi := range want.Postings {
		for k, docs := range want.Postings[fi] {
			if g, ok := got.Postings[fi][k]; !ok || !slices.Equal(g, docs) {
				t.Fatalf("%s: field %d gram %x: docs %v, want %v", when, fi, k, g, docs)
			}
		}
		for k, docs := range got.Postings[fi] {
			if _, ok := want.Postings[fi][k]; !ok {
				t.Fatalf("%s: field %d gram %x: docs %v, want no posting", when, fi, k, docs)
			}
		}
	}
}

// TestDeltaChain applies random rounds of every kind of change (new
// videos, inverted batches, statistics refreshes in place, title edits,
// text events, tombstones, revivals, channel snapshots and tombstones),
// flushing after each round, and checks that opening the directory gives
// exactly the live index's state: after every flush, whether it wrote a
// delta or merged into a full snapshot.
func TestDeltaChain(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ix.Close() }()
	// Postings freeze (and get mapped) often; deltas chain up to twice
	// the base's size.
	ix.compactMin, ix.compactListMax, ix.mergeRatio = 500, 8, 2
	ix.arena.sealMin = 0 // every full text chunk moves to the spill file
	var spilled int64    // text bytes the indexes read from their spill
	rng := rand.New(rand.NewPCG(7, 11))
	words := []string{"영어", "먹방", "minecraft", "초등", "vlog", "ゲーム", "실황", "asmr", "공부", "music"}
	title := func() string {
		var b strings.Builder
		for range 2 + rng.IntN(4) {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString(string(rune('가' + rng.IntN(30))))
			b.WriteByte(' ')
		}
		return strings.TrimSpace(b.String())
	}
	type vid struct {
		spec vspec
		dead bool
	}
	var vids []*vid
	clock := t0
	tick := func() time.Time { clock = clock.Add(time.Minute); return clock }
	chanTitles := []string{"채널 하나", "Channel Two", "チャンネル三"}
	newVids := func(k int) []yt.Record {
		var recs []yt.Record
		for range k {
			i := len(vids)
			c := rng.IntN(len(chanTitles))
			s := vspec{id: vidID(i), title: title(), desc: "설명 " + title(), tags: []string{words[rng.IntN(len(words))], "tag" + fmt.Sprint(i%7)},
				chanID: chanID(c), chanTitle: chanTitles[c], cat: fmt.Sprint(rng.IntN(3)), lang: []string{"ko", "en", "ja"}[rng.IntN(3)],
				views: int64(rng.IntN(100000)), pub: t0.Add(-time.Duration(rng.IntN(1000)) * time.Hour), fetched: tick()}
			vids = append(vids, &vid{spec: s})
			recs = append(recs, s.rec())
		}
		return recs
	}
	mustApply(t, ix, newVids(1500)...) // inverted in bulk
	if err := ix.Flush(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for round := 2; round <= 40; round++ {
		var recs []yt.Record
		recs = append(recs, newVids(rng.IntN(40))...)
		if round%9 == 0 {
			recs = append(recs, newVids(300)...) // an inverted batch on top of a base
		}
		for range 200 { // statistics refreshes (in place)
			v := vids[rng.IntN(len(vids))]
			if v.dead {
				continue
			}
			v.spec.views += int64(rng.IntN(1000))
			v.spec.fetched = tick()
			recs = append(recs, v.spec.rec())
		}
		mustApply(t, ix, recs...)
		recs = recs[:0]
		for range 5 {
			v := vids[rng.IntN(len(vids))]
			switch op := rng.IntN(6); {
			case op == 0 && !v.dead: // a title edit by snapshot
				v.spec.title, v.spec.fetched = title(), tick()
				recs = append(recs, v.spec.rec())
			case op == 1 && !v.dead:
				recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTitleChanged, EntityKind: yt.KindVideo, EntityID: v.spec.id, ObservedAt: tick(), New: title()}))
			case op == 2 && !v.dead:
				recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTagsChanged, EntityKind: yt.KindVideo, EntityID: v.spec.id, ObservedAt: tick(), New: `["새 태그","` + words[rng.IntN(len(words))] + `"]`}))
			case op == 3 && !v.dead:
				recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventThumbnailChanged, EntityKind: yt.KindVideo, EntityID: v.spec.id, ObservedAt: tick(), New: "https://i.ytimg.com/vi/" + v.spec.id + "/maxresdefault.jpg"}))
			case op == 4 && !v.dead:
				v.dead = true
				recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: v.spec.id, ObservedAt: tick()}))
			case op == 5:
				c := rng.IntN(len(chanTitles))
				chanTitles[c] = "채널 " + title()
				ch := &yt.Channel{ID: chanID(c), FetchedAt: tick(), Snippet: yt.ChannelSnippet{Title: chanTitles[c]}}
				recs = append(recs, yt.NewChannelRecord("api", ch))
			}
		}
		for _, v := range vids { // revive the first dead video by a newer snapshot
			if v.dead && rng.IntN(2) == 0 {
				v.dead = false
				v.spec.fetched = tick()
				recs = append(recs, v.spec.rec())
				break
			}
		}
		if round%3 == 0 { // a channel refreshed with its title unchanged: only chanAt moves
			c := round % len(chanTitles)
			recs = append(recs, yt.NewChannelRecord("api", &yt.Channel{ID: chanID(c), FetchedAt: tick(), Snippet: yt.ChannelSnippet{Title: chanTitles[c]}}))
		}
		if round%13 == 0 {
			recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindChannel, EntityID: chanID(round % 3), ObservedAt: tick()}))
		}
		mustApply(t, ix, recs...)
		kind := ix.FlushKind()
		if err := ix.Flush(context.Background(), uint64(round)); err != nil {
			t.Fatal(err)
		}
		kinds[kind]++
		want := stateOf(t, ix)
		ix2, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("round %d (%s): open: %v", round, kind, err)
		}
		if ix2.Checkpoint() != uint64(round) {
			t.Fatalf("round %d: checkpoint %d", round, ix2.Checkpoint())
		}
		sameState(t, fmt.Sprintf("round %d (%s flush, %d deltas)", round, kind, ix2.snap.seq()), want, stateOf(t, ix2))
		for _, q := range []string{"영어", "먹방 가", "minecraft", "채널", "새 태그"} {
			for _, s := range []Sort{SortViews, SortRecent, SortRelevance} {
				q := Query{Q: q, Sort: s, In: []Field{FieldTitle, FieldTags, FieldChannel}, ExactTotal: true}
				a, err1 := ix.Search(context.Background(), q)
				b, err2 := ix2.Search(context.Background(), q)
				if err1 != nil || err2 != nil || a.Total != b.Total || !slices.Equal(ids(a), ids(b)) {
					t.Fatalf("round %d: %+v: live %d %v (%v), reopened %d %v (%v)", round, q, a.Total, ids(a), err1, b.Total, ids(b), err2)
				}
			}
		}
		ix2.Close()
		if round%10 == 0 { // continue on the reopened index: its chain goes on
			spilled += ix.arena.mappedBytes()
			ix.Close()
			if ix, err = Open(dir, Options{}); err != nil {
				t.Fatal(err)
			}
			ix.compactMin, ix.compactListMax, ix.mergeRatio = 500, 8, 2
			ix.arena.sealMin = 0 // every full text chunk moves to the spill file
		}
	}
	spilled += ix.arena.mappedBytes()
	t.Logf("flushes: %v; texts spilled: %d bytes", kinds, spilled)
	if spilled == 0 {
		t.Fatal("no text chunk was spilled: the test does not cover texts read from the spill")
	}
	if kinds["delta"] < 25 || kinds["full"] < 2 {
		t.Fatalf("flushes %v: want mostly deltas and at least one merge", kinds)
	}
}

// TestDeltaFiles: a delta holds only what changed (a statistics refresh is
// a few bytes), a merge removes the deltas, a delta of an earlier chain or
// after a gap is ignored, and a damaged one fails Open.
func TestDeltaFiles(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ix.Close() }()
	var specs []vspec
	for i := range 2000 {
		specs = append(specs, vspec{id: vidID(i), title: fmt.Sprintf("영어 먹방 minecraft %c", '가'+i%40), desc: strings.Repeat("긴 설명 ", 20), views: int64(i), pub: t0})
	}
	put := func(ss ...vspec) {
		var recs []yt.Record
		for _, s := range ss {
			recs = append(recs, s.rec())
		}
		mustApply(t, ix, recs...)
	}
	put(specs...)
	if err := ix.Flush(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	base, err := os.Stat(filepath.Join(dir, snapName))
	if err != nil {
		t.Fatal(err)
	}
	// 100 statistics refreshes: a delta of a few kilobytes.
	for i := range 100 {
		specs[i*7].views, specs[i*7].fetched = 1_000_000+int64(i), t0.Add(time.Hour)
		put(specs[i*7])
	}
	if err := ix.Flush(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	d1, err := os.ReadFile(filepath.Join(dir, deltaName(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(d1) > 4000 || len(d1) < 100*3 {
		t.Fatalf("delta of 100 refreshes: %d bytes (base %d)", len(d1), base.Size())
	}
	t.Logf("base %d bytes; delta of 100 statistics refreshes %d bytes", base.Size(), len(d1))
	if st := ix.Stats(); st.Deltas != 1 || st.SnapBytes != base.Size()+int64(len(d1)) {
		t.Fatalf("stats: %d deltas, %d snapshot bytes; want 1, %d", st.Deltas, st.SnapBytes, base.Size()+int64(len(d1)))
	}
	put(vspec{id: vidID(5000), title: "새 영상 영어", views: 3, pub: t0})
	if err := ix.Flush(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	want := stateOf(t, ix)
	if err := ix.FlushFull(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	if files, _ := deltaFiles(dir); len(files) != 0 || ix.Stats().Deltas != 0 {
		t.Fatalf("deltas left after a merge: %v (stats %d)", files, ix.Stats().Deltas)
	}
	ix.Close()
	// A crash between the merge's commit and its clean-up leaves deltas of
	// the old base: ignored.
	if err := os.WriteFile(filepath.Join(dir, deltaName(1)), d1, 0o644); err != nil {
		t.Fatal(err)
	}
	if ix, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	sameState(t, "stale delta", want, stateOf(t, ix))
	if ix.snap.seq() != 0 || ix.Checkpoint() != 4 {
		t.Fatalf("stale delta applied: seq %d, checkpoint %d", ix.snap.seq(), ix.Checkpoint())
	}
	// The next delta replaces the stale file of its number.
	specs[1].views, specs[1].fetched = 77, t0.Add(2*time.Hour)
	put(specs[1])
	if err := ix.Flush(context.Background(), 5); err != nil {
		t.Fatal(err)
	}
	want = stateOf(t, ix)
	ix.Close()
	// A delta after a gap is ignored.
	if err := os.WriteFile(filepath.Join(dir, deltaName(3)), d1, 0o644); err != nil {
		t.Fatal(err)
	}
	if ix, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	sameState(t, "delta after a gap", want, stateOf(t, ix))
	if ix.snap.seq() != 1 || ix.Checkpoint() != 5 {
		t.Fatalf("seq %d, checkpoint %d", ix.snap.seq(), ix.Checkpoint())
	}
	ix.Close()
	// A damaged delta of the chain fails Open.
	path := filepath.Join(dir, deltaName(1))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if ix, err = Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("damaged delta: %v", err)
	}
	ix, _ = Open("", Options{}) // for the deferred Close
}

// TestOpenDamagedDelta: a delta damaged in any byte, with a checksum that
// matches the damage, is rejected with an error, ignored (a damaged chain
// header) or applied into an index that still searches, applies and
// flushes; it never panics.
func TestOpenDamagedDelta(t *testing.T) {
	dir, _, recs := smallSnapshot(t)
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.compactMin, ix.compactListMax = 0, 1
	edit := vspec{id: vidID(1), title: "영어 바뀐 제목", tags: []string{"tag"}, chanID: chanID(1), chanTitle: "채널", lang: "ko", views: 9, pub: t0, fetched: t0.Add(time.Hour)}
	more := []yt.Record{
		edit.rec(),
		vspec{id: vidID(2), title: "영어 Minecraft 2", tags: []string{"tag"}, chanID: chanID(0), chanTitle: "채널", lang: "ko", views: 500, pub: t0, fetched: t0.Add(time.Hour)}.rec(),
		vspec{id: vidID(20), title: "새 영어 Minecraft", views: 3, pub: t0}.rec(),
		yt.NewChannelRecord("api", &yt.Channel{ID: chanID(0), FetchedAt: t0.Add(2 * time.Hour), Snippet: yt.ChannelSnippet{Title: "새 채널"}}),
		yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(4), ObservedAt: t0.Add(time.Hour)}),
	}
	mustApply(t, ix, more...)
	if err := ix.Flush(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	path := filepath.Join(dir, deltaName(1))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	basePath := filepath.Join(dir, snapName)
	base, err := os.ReadFile(basePath)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for i := range len(good) - 4 {
		b := slices.Clone(good)
		b[i] ^= 0xff
		writeSnapshot(t, path, b)
		ix, err := Open(dir, Options{})
		if err != nil {
			outcomes["rejected"]++
			continue
		}
		if ix.snap.seq() == 0 {
			outcomes["ignored"]++
		} else {
			outcomes["applied"]++
		}
		if _, err := ix.Search(context.Background(), Query{Q: "영어", In: []Field{FieldTitle, FieldChannel}}); err != nil {
			t.Errorf("byte %d: search: %v", i, err)
		}
		mustApply(t, ix, recs[0], vspec{id: vidID(30), title: "또 영어", views: 1, pub: t0}.rec())
		if err := ix.Flush(context.Background(), 3); err != nil {
			t.Errorf("byte %d: flush: %v", i, err)
		}
		ix.Close()
		// Back to the base and its one good delta (the flush above may
		// have merged them, or chained a second delta).
		writeSnapshot(t, basePath, slices.Clone(base))
		writeSnapshot(t, path, slices.Clone(good))
		os.Remove(filepath.Join(dir, deltaName(2)))
	}
	t.Logf("%d bytes: %v", len(good), outcomes)
	if outcomes["rejected"] == 0 || outcomes["ignored"] == 0 || outcomes["applied"] == 0 {
		t.Fatalf("outcomes %v: want rejections and ignored chains", outcomes)
	}
}

// TestDeltaTiers: a server flushing after every small batch keeps a short
// chain: deltaFanout deltas of one level merge into one of the next level,
// the merged files are removed, and opening the directory at any point
// gives exactly the live index.
func TestDeltaTiers(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ix.mergeRatio = 1000 // no full snapshot after the first
	var specs []vspec
	for i := range 500 {
		specs = append(specs, vspec{id: vidID(i), title: fmt.Sprintf("영어 먹방 %c", '가'+i%40), views: int64(i), pub: t0})
	}
	var recs []yt.Record
	for _, s := range specs {
		recs = append(recs, s.rec())
	}
	mustApply(t, ix, recs...)
	if err := ix.Flush(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	longest, merges := 0, 0
	for f := 2; f <= 300; f++ {
		s := &specs[(f*37)%len(specs)]
		s.views, s.fetched = s.views+int64(f), t0.Add(time.Duration(f)*time.Minute)
		recs := []yt.Record{s.rec()}
		if f%5 == 0 { // a new video
			n := len(specs)
			specs = append(specs, vspec{id: vidID(n), title: fmt.Sprintf("새 영어 %d", n), views: 1, pub: t0, fetched: t0.Add(time.Duration(f) * time.Minute)})
			recs = append(recs, specs[n].rec())
		}
		if f%7 == 0 { // a title edit
			e := &specs[(f*11)%500]
			e.title, e.fetched = fmt.Sprintf("바뀐 제목 %d", f), t0.Add(time.Duration(f)*time.Minute)
			recs = append(recs, e.rec())
		}
		mustApply(t, ix, recs...)
		before := ix.snap.seq()
		if err := ix.Flush(context.Background(), uint64(f)); err != nil {
			t.Fatal(err)
		}
		after := ix.snap.seq()
		if after <= before {
			merges++
		}
		longest = max(longest, int(after))
		files, err := deltaFiles(dir)
		if err != nil || len(files) != int(after) {
			t.Fatalf("flush %d: %d delta files for a chain of %d (%v)", f, len(files), after, err)
		}
		if f%23 == 0 || f == 300 {
			ix2, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			sameState(t, fmt.Sprintf("flush %d (%d deltas)", f, after), stateOf(t, ix), stateOf(t, ix2))
			ix2.Close()
		}
	}
	t.Logf("299 deltas: longest chain %d, %d merges, chain now %d (%d bytes of deltas)", longest, merges, ix.snap.seq(), ix.snap.deltaBytes())
	// 299 = 4*64 + 5*8 + 3 in base 8: at most 7 per level over 3 levels.
	if longest > 3*(deltaFanout-1)+1 || merges < 299/deltaFanout {
		t.Fatalf("longest chain %d, %d merges", longest, merges)
	}
}

// TestFlushDelta: FlushDelta writes a delta even when the merge policy
// asks for a full snapshot (a quick flush before a shutdown), and a full
// snapshot only when there is none yet.
func TestFlushDelta(t *testing.T) {
	dir := t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	mustApply(t, ix, vspec{id: vidID(1), title: "영어 하나", views: 1, pub: t0}.rec())
	if err := ix.FlushDelta(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.Deltas != 0 || st.SnapBytes == 0 {
		t.Fatalf("first FlushDelta: %d deltas, %d bytes; want a full snapshot", st.Deltas, st.SnapBytes)
	}
	mustApply(t, ix, vspec{id: vidID(2), title: "영어 둘", views: 2, pub: t0}.rec(), vspec{id: vidID(3), title: "영어 셋", views: 3, pub: t0}.rec())
	if k := ix.FlushKind(); k != "full" { // the docs tripled
		t.Fatalf("FlushKind %s, want full", k)
	}
	if err := ix.FlushDelta(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.Deltas != 1 {
		t.Fatalf("FlushDelta: %d deltas, want 1", st.Deltas)
	}
	ix2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix2.Close()
	sameState(t, "after FlushDelta", stateOf(t, ix), stateOf(t, ix2))
	if err := ix.Flush(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.Deltas != 0 {
		t.Fatalf("Flush after FlushDelta: %d deltas, want the merge", st.Deltas)
	}
}
