package index

import (
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// sharedData is the real-data directory relative to this package.
const sharedData = "../../../shared/data"

var t0 = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)

func vidID(i int) string  { return fmt.Sprintf("v%010d", i) }
func chanID(i int) string { return fmt.Sprintf("UC%022d", i) }

type vspec struct {
	id, title, desc, chanID, chanTitle, cat, lang string
	tags                                          []string
	views                                         int64
	pub                                           time.Time
	fetched                                       time.Time
}

func (s vspec) video() *yt.Video {
	v := &yt.Video{
		ID: s.id,
		Snippet: yt.VideoSnippet{
			PublishedAt: s.pub, ChannelID: s.chanID, Title: s.title, Description: s.desc,
			ChannelTitle: s.chanTitle, Tags: s.tags, CategoryID: s.cat, DefaultLanguage: s.lang,
			Thumbnail: yt.Thumbnail{URL: "https://i.ytimg.com/vi/" + s.id + "/hqdefault.jpg"},
		},
		Statistics:     yt.VideoStatistics{ViewCount: yt.Int64(s.views), LikeCount: yt.Int64(s.views / 50), CommentCount: yt.Int64(s.views / 1000)},
		ContentDetails: yt.VideoContentDetails{Duration: "PT4M13S"},
		FetchedAt:      s.fetched,
	}
	if v.FetchedAt.IsZero() {
		v.FetchedAt = t0
	}
	if v.Snippet.ChannelID == "" {
		v.Snippet.ChannelID = chanID(0)
	}
	return v
}

func (s vspec) rec() yt.Record { return yt.NewVideoRecord("api", s.video()) }

func mustApply(t testing.TB, ix *Index, recs ...yt.Record) {
	t.Helper()
	if err := ix.Apply(context.Background(), recs); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func newMem(t testing.TB) *Index {
	t.Helper()
	ix, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func ids(r Result) []string {
	out := make([]string, len(r.Items))
	for i, h := range r.Items {
		out[i] = h.ID
	}
	return out
}

// realVideo is one row of videos_latest.csv.gz.
type realVideo struct {
	region, id, title, chanID, chanTitle string
	pub                                  time.Time
	views, likes, comments               int64
}

// gzCSV opens a gzipped CSV file for reading; it is closed when the test ends.
func gzCSV(t testing.TB, path string) *csv.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return csv.NewReader(zr)
}

// loadReal reads the real KR/JP/US chart titles, or skips the test.
func loadReal(t testing.TB) []realVideo {
	t.Helper()
	path := filepath.Join(sharedData, "trending/kr-jp-us-mostpopular-2025-11/videos_latest.csv.gz")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data missing (%v): see docs on ../shared/data", err)
	}
	cr := gzCSV(t, path)
	cr.FieldsPerRecord = -1
	if _, err := cr.Read(); err != nil {
		t.Fatal(err)
	}
	var out []realVideo
	seen := map[string]bool{}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(row) < 9 || seen[row[1]] || yt.ValidateVideoID(row[1]) != nil {
			continue
		}
		seen[row[1]] = true
		pub, _ := time.Parse(time.RFC3339, row[5])
		v, _ := strconv.ParseInt(row[6], 10, 64)
		l, _ := strconv.ParseInt(row[7], 10, 64)
		c, _ := strconv.ParseInt(row[8], 10, 64)
		out = append(out, realVideo{region: row[0], id: row[1], title: row[2], chanID: row[3], chanTitle: row[4], pub: pub, views: v, likes: l, comments: c})
	}
	return out
}

func (r realVideo) spec() vspec {
	cid := r.chanID
	if yt.ValidateChannelID(cid) != nil {
		cid = chanID(0)
	}
	lang := map[string]string{"KR": "ko", "NOREGION": "ko", "JP": "ja", "US": "en"}[r.region]
	return vspec{id: r.id, title: r.title, chanID: cid, chanTitle: r.chanTitle, views: r.views, pub: r.pub, lang: lang}
}

func corrupt(t *testing.T, dir string) {
	t.Helper()
	p := filepath.Join(dir, snapName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// flushReopen flushes ix into dir (checkpoint 1), closes it and opens the
// snapshot again; the reopened index is closed when the test ends.
func flushReopen(t *testing.T, ix *Index, dir string) *Index {
	t.Helper()
	if err := ix.Flush(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	ix2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix2.Close() })
	return ix2
}

// flushClosed flushes ix (checkpoint), closes it and returns its snapshot's
// path and bytes.
func flushClosed(t testing.TB, ix *Index, dir string, checkpoint uint64) (string, []byte) {
	t.Helper()
	if err := ix.Flush(context.Background(), checkpoint); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	path := filepath.Join(dir, snapName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// writeSnapshot writes b, an edited snapshot, to path with a checksum that
// matches the edit.
func writeSnapshot(t *testing.T, path string, b []byte) {
	t.Helper()
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crcTable))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallSnapshot writes a small snapshot with list and frozen postings,
// filters and a tombstone, and returns its directory, its bytes and the
// records it was made from (for tests that damage it).
func smallSnapshot(t testing.TB) (dir string, snap []byte, recs []yt.Record) {
	t.Helper()
	dir = t.TempDir()
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ix.compactMin, ix.compactListMax = 0, 1 // frozen blobs in the file
	for i := range 8 {
		recs = append(recs, vspec{id: vidID(i), title: fmt.Sprintf("영어 Minecraft %d", i%3), tags: []string{"tag"}, chanID: chanID(i % 2), chanTitle: "채널", lang: "ko", views: int64(i), pub: t0}.rec())
	}
	recs = append(recs, yt.NewEventRecord("api", &yt.Event{Type: yt.EventTombstone, EntityKind: yt.KindVideo, EntityID: vidID(3), ObservedAt: t0.Add(time.Hour)}))
	mustApply(t, ix, recs...)
	_, snap = flushClosed(t, ix, dir, 1)
	return dir, snap, recs
}
