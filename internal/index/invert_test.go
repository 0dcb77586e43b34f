package index

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// postingSets returns every field's gram -> sorted doc ids.
func postingSets(ix *Index) [nFields]map[uint64][]uint32 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out [nFields]map[uint64][]uint32
	for fi := range nFields {
		out[fi] = map[uint64][]uint32{}
		for g, p := range ix.post[fi] {
			if !p.isEmpty() {
				out[fi][g] = p.bitmap().ToArray()
			}
		}
	}
	return out
}

// filterSets returns the docs of every filter posting, keyed by filter and key.
func filterSets(ix *Index) map[string][]uint32 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	out := map[string][]uint32{}
	for name, m := range map[string]map[string]*posting{"channel": ix.byChannel, "category": ix.byCategory, "language": ix.byLang} {
		for k, p := range m {
			if !p.isEmpty() {
				out[name+"="+k] = p.bitmap().ToArray()
			}
		}
	}
	return out
}

// TestInversionMatchesPerRecord builds the same corpus twice: as big
// batches (chunks inverted by gram) and record by record (each gram added
// on its own), and requires identical postings and search results. The
// corpus has random texts of many distinct grams (the gram table grows),
// repeated grams within a text, videos whose channel title a newer channel
// snapshot overrides (their channel field is indexed directly), and a batch
// with a video twice and one with a channel record (not inverted).
func TestInversionMatchesPerRecord(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	alphabet := []rune("초등영어먹방브이로그 abcdefghijklmnopqrstuvwxyz0123456789ひらがなカタカナ漢字🎵#")
	word := func() string {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	text := func(words int) string {
		ws := make([]string, words)
		for i := range ws {
			ws[i] = word()
		}
		return strings.Join(ws, " ")
	}
	const n = 3000
	specs := make([]vspec, n)
	for i := range specs {
		specs[i] = vspec{
			id: vidID(i), title: text(2 + r.IntN(8)), desc: text(r.IntN(20)),
			chanID: chanID(i % 40), chanTitle: "Channel " + word(),
			cat: fmt.Sprint(1 + r.IntN(5)), lang: []string{"ko", "ja", "en-US", ""}[r.IntN(4)],
			tags: []string{word(), word() + " " + word()}, views: r.Int64N(1e9),
			pub: t0.Add(-time.Duration(r.IntN(1000)) * time.Hour), fetched: t0,
		}
		if i%7 == 0 {
			specs[i].title += " " + specs[i].title // grams repeated in one text
		}
	}
	// Channel 3's snapshot is newer than every video: its title wins.
	chRec := yt.NewChannelRecord("api", &yt.Channel{ID: chanID(3), Snippet: yt.ChannelSnippet{Title: "Newer 채널 Title"}, FetchedAt: t0.Add(time.Hour)})

	batched, single := newMem(t), newMem(t)
	mustApply(t, batched, chRec)
	mustApply(t, single, chRec)
	var recs []yt.Record
	for _, s := range specs[:2500] {
		recs = append(recs, s.rec())
	}
	mustApply(t, batched, recs...)
	// Not invertible: a video twice, then a channel record among videos.
	dup := specs[2500]
	dup.fetched = t0.Add(time.Minute)
	dup.title = "다시 " + dup.title
	recs = recs[:0]
	for _, s := range specs[2500:2800] {
		recs = append(recs, s.rec())
	}
	recs = append(recs, dup.rec())
	mustApply(t, batched, recs...)
	recs = recs[:0]
	for _, s := range specs[2800:] {
		recs = append(recs, s.rec())
	}
	recs = append(recs[:100], append([]yt.Record{yt.NewChannelRecord("api", &yt.Channel{ID: chanID(5), Snippet: yt.ChannelSnippet{Title: "Five"}, FetchedAt: t0.Add(time.Hour)})}, recs[100:]...)...)
	mustApply(t, batched, recs...)

	for _, s := range specs[:2800] {
		mustApply(t, single, s.rec())
	}
	mustApply(t, single, dup.rec())
	for _, rec := range recs {
		mustApply(t, single, rec)
	}

	a, b := postingSets(batched), postingSets(single)
	for fi := range nFields {
		if len(a[fi]) != len(b[fi]) {
			t.Errorf("field %d: %d grams batched, %d record by record", fi, len(a[fi]), len(b[fi]))
		}
		for g, da := range a[fi] {
			if db := b[fi][g]; !slices.Equal(da, db) {
				t.Fatalf("field %d gram %x: batched docs %v, record by record %v", fi, g, da, db)
			}
		}
	}
	// The filter postings too (the inversion adds the new docs' in bulk).
	fa, fb := filterSets(batched), filterSets(single)
	if len(fa) != len(fb) || len(fa) < 40+5+3 {
		t.Errorf("filter postings: %d batched, %d record by record", len(fa), len(fb))
	}
	for k, da := range fa {
		if db := fb[k]; !slices.Equal(da, db) {
			t.Fatalf("filter %s: batched docs %v, record by record %v", k, da, db)
		}
	}
	if len(a[fTitle]) < 5000 {
		t.Fatalf("only %d title grams: the corpus does not exercise the gram table", len(a[fTitle]))
	}
	// The channel override reached the channel field of channel 3's videos.
	res, err := batched.Search(t.Context(), Query{Q: "newer 채널", In: []Field{FieldChannel}, Limit: 1000, ExactTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != n/40 {
		t.Errorf("channel override: %d videos found, want %d", res.Total, n/40)
	}
	st := batched.Stats()
	if st.Docs != n {
		t.Errorf("batched index holds %d docs, want %d", st.Docs, n)
	}
}

// TestGramTableGrow groups more distinct grams than the table was sized
// for and checks every group.
func TestGramTableGrow(t *testing.T) {
	var tab gramTable
	ps := make([]*prepared, 300)
	in := make([]bool, len(ps))
	want := map[uint64][]uint16{}
	for i := range ps {
		p := &prepared{}
		for j := range 40 {
			g := uint64(1 + (i*7919+j*104729)%20000)
			p.grams[fTitle] = append(p.grams[fTitle], g, g) // each twice
			if !slices.Contains(want[g], uint16(i)) {
				want[g] = append(want[g], uint16(i))
			}
		}
		ps[i], in[i] = p, i%5 != 0
	}
	for g, rs := range want {
		want[g] = slices.DeleteFunc(rs, func(r uint16) bool { return r%5 == 0 })
		if len(want[g]) == 0 {
			delete(want, g)
		}
	}
	tab.ents = make([]gramEnt, 1024) // small: must grow several times
	var got invGroups
	tab.group(&got, ps, in, fTitle)
	if len(got.grams) != len(want) {
		t.Fatalf("%d groups, want %d", len(got.grams), len(want))
	}
	for j, g := range got.grams {
		rs := got.recs[got.start[j]:got.start[j+1]]
		if !slices.Equal(rs, want[g]) {
			t.Fatalf("gram %d: records %v, want %v", g, rs, want[g])
		}
	}
}
