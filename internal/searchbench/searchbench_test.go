package searchbench

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tubelake/tubelake/internal/api"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/yt"
)

var sharedData = filepath.Join("..", "..", "..", "shared", "data")

func loadModel(tb testing.TB) *Model {
	tb.Helper()
	if _, err := os.Stat(sharedData); err != nil {
		tb.Skipf("real data missing (%v): see ../shared/data/README.md", err)
	}
	m, err := LoadModel(sharedData)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestLoadModelMissingDir(t *testing.T) {
	_, err := LoadModel(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "../shared/data") {
		t.Fatalf("want a clear error naming ../shared/data, got %v", err)
	}
}

func TestCorpusDeterministicAndValid(t *testing.T) {
	m := loadModel(t)
	g1, g2 := NewGenerator(m, 7, 5000), NewGenerator(m, 7, 5000)
	var a, b Doc
	ids := map[string]bool{}
	langs := map[string]int{}
	for i := 0; i < 5000; i++ {
		g1.Doc(i, &a)
		g2.Doc(i, &b)
		if a.Title != b.Title || a.ID != b.ID || a.Views != b.Views || !slices.Equal(a.Tags, b.Tags) {
			t.Fatalf("doc %d not deterministic: %+v vs %+v", i, a, b)
		}
		if ids[a.ID] {
			t.Fatalf("duplicate id %s", a.ID)
		}
		ids[a.ID] = true
		langs[a.Language]++
		r := a.Record(FetchedAt, a.Views)
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		if err := yt.ValidateChannelID(a.ChannelID); err != nil {
			t.Fatal(err)
		}
		if a.Title == "" {
			t.Fatalf("doc %d: empty title", i)
		}
	}
	// Generating doc 4000 alone gives the same doc (random access).
	g3 := NewGenerator(m, 7, 5000)
	var c Doc
	g3.Doc(4999, &c)
	if c.Title != a.Title || c.ID != a.ID {
		t.Fatalf("random access differs: %q vs %q", c.Title, a.Title)
	}
	if langs["ko"] < 2500 || langs["ja"] < 500 || langs["en"] < 500 {
		t.Fatalf("language mix off: %v", langs)
	}
}

// TestRunSmall runs the whole benchmark on a small corpus with every anchor:
// tubelake must agree with the oracle on every query, and every anchor must
// return the oracle's top ids.
func TestRunSmall(t *testing.T) {
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("real data missing (%v)", err)
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), Config{
		DataDir: sharedData, Docs: 20000, AnchorDocs: 20000, PerKind: 6, Reps: 2, AnchorReps: 1,
		Anchors: BuiltAnchors(), Updates: 5000, WorkDir: t.TempDir(), Progress: &progress, Reopen: true,
		Handler: func(ix *index.Index) (http.Handler, error) { return api.New(api.Config{Index: ix}) },
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if rep.Correctness.Checked == 0 || rep.Correctness.Mismatches != 0 || rep.Correctness.MismatchesAfterUpdates != 0 {
		t.Fatalf("correctness: %+v", rep.Correctness)
	}
	for _, k := range Kinds {
		ks := rep.kind(k)
		if ks == nil || ks.Queries == 0 {
			t.Errorf("no %s queries", k)
		}
	}
	if ks := rep.kind(KindNoMatch); ks.MaxMatches != 0 {
		t.Errorf("no-match queries match %d docs", ks.MaxMatches)
	}
	if ks := rep.kind(KindRare); ks.MaxMatches >= 50 {
		t.Errorf("rare queries match %d docs", ks.MaxMatches)
	}
	if len(rep.Anchors) != len(BuiltAnchors()) {
		t.Fatalf("anchors: %d", len(rep.Anchors))
	}
	for _, a := range rep.Anchors {
		if a.Disagree != 0 || a.Agree != len(rep.Queries) {
			t.Errorf("anchor %s disagrees with the oracle on %d queries: %v", a.Name, a.Disagree, a.Examples)
		}
	}
	// The API phase: every query checked once per client, timed Reps times.
	if a := rep.API; a == nil || a.Mismatches != 0 || a.Checked != 2*len(rep.Queries) || a.Requests != 2*2*len(rep.Queries) {
		t.Errorf("api phase: %+v", rep.API)
	} else if k := rep.kind(KindCommon); k.APIP99Ms <= 0 || k.APIP50Ms > k.APIP99Ms {
		t.Errorf("api latency of common queries: %+v", k)
	}
	if rep.Updates.Applied != 5000 || rep.Updates.Queries == 0 {
		t.Errorf("updates: %+v", rep.Updates)
	}
	// The snapshot round trip: the reopened index answers as the oracle.
	// The final flush holds the updates as a delta on top of the build's
	// full snapshot, which the reopened index applies.
	if ro := rep.Reopen; ro == nil || ro.Checked != len(rep.Queries) || ro.Mismatches != 0 || ro.OpenSeconds <= 0 || ro.HeapBytes <= 0 ||
		ro.FlushKind != "delta" || ro.OpenDeltas != 1 || ro.FlushBytes <= 0 || ro.FlushBytes >= rep.Build.DiskBytes {
		t.Errorf("reopen: %+v", rep.Reopen)
	}
	if m := rep.Machine; m.ProbeStartNs <= 0 || m.ProbeEndNs <= 0 {
		t.Errorf("speed probe: %+v", m)
	}
	if rep.Build.DiskBytes == 0 || rep.Corpus.RawTextBytes == 0 || rep.Build.IndexTextBytes != rep.Corpus.RawTextBytes {
		t.Errorf("build: %+v corpus raw %d", rep.Build, rep.Corpus.RawTextBytes)
	}
	// Building the index took the write lock in many short holds.
	if h := rep.Build.WriteHolds; h.Count < 10 || h.Seconds <= 0 || h.MaxSeconds <= 0 || h.MaxSeconds > h.Seconds || h.Quantile(0.99) > h.MaxSeconds {
		t.Errorf("write-lock holds during the build: %+v", h)
	}
	var md bytes.Buffer
	rep.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| common |") || !strings.Contains(md.String(), "Write-lock holds during the build") || !strings.Contains(md.String(), "mismatches vs brute-force oracle: 0") ||
		!strings.Contains(md.String(), "Snapshot round trip") || !strings.Contains(md.String(), "speed probe") {
		t.Errorf("markdown:\n%s", md.String())
	}
	t.Logf("\n%s", md.String())
}

func BenchmarkCorpusDoc(b *testing.B) {
	m := loadModel(b)
	g := NewGenerator(m, 1, 10_000_000)
	var d Doc
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		g.Doc(i, &d)
		bytes += d.TextBytes()
	}
	b.SetBytes(bytes / int64(b.N))
}

// TestCorpusFingerprint pins the generated corpus: figures in
// docs/BENCHMARKS.md stay comparable across changes to the generator only
// while it generates the same docs from the same seed and real data.
func TestCorpusFingerprint(t *testing.T) {
	m := loadModel(t)
	g := NewGenerator(m, 1, 20000)
	h := fnv.New64a()
	var d Doc
	for i := range 20000 {
		g.Doc(i, &d)
		fmt.Fprintf(h, "%s|%s|%v|%s|%s\n", d.Title, d.Description, d.Tags, d.ChannelTitle, d.ID)
	}
	if got, want := fmt.Sprintf("%x", h.Sum64()), "b8f4a88b0afd20fb"; got != want {
		t.Fatalf("corpus fingerprint %s, want %s: the generator changed its output", got, want)
	}
}
