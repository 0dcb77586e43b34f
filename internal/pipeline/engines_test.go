package pipeline

import (
	"context"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/stream"
	"github.com/tubelake/tubelake/internal/yt"
)

func runNode(t *testing.T, cfg Config, recs []yt.Record) (lakeRecords float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	cfg.MaxWait = 50 * time.Millisecond
	cfg.IndexFlushEvery = 100 * time.Millisecond
	n, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ingest(ctx, t, n, recs)
	return testutil.ToFloat64(n.sinkRecords.WithLabelValues("lake", "video"))
}

func countStats(t *testing.T, dir string) int64 {
	db, err := lakesql.Open(context.Background(), dir+"/lake")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query(context.Background(), "SELECT count(*) FROM video_stats")
	if err != nil {
		t.Fatal(err)
	}
	return res.Rows[0][0].(int64)
}

// TestKafkaEngineIntoLakeTwice: the pipeline on Kafka (kfake). Kafka has no
// dedupe window, so importing the same records twice stores them twice on
// the stream; the lake still shows each record once.
func TestKafkaEngineIntoLakeTwice(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(string, string) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	cfg := Config{DataDir: dir, StreamURL: "kafka://" + strings.Join(c.ListenAddrs(), ",")}
	recs := make([]yt.Record, 500)
	for i := range recs {
		recs[i] = SyntheticVideo(i, len(recs), 2)
	}
	runNode(t, cfg, recs)
	runNode(t, cfg, recs)
	if n := countStats(t, dir); n != 500 {
		t.Fatalf("video_stats has %d rows, want 500", n)
	}
}

// TestLakeResumesFromItsOwnCommitManifest: the lake's position lives in the
// lake. Losing the stream's consumer state does not replay what the lake
// already committed.
func TestLakeResumesFromItsOwnCommitManifest(t *testing.T) {
	dir := t.TempDir()
	recs := make([]yt.Record, 300)
	for i := range recs {
		recs[i] = SyntheticVideo(i, len(recs), 1)
	}
	if got := runNode(t, Config{DataDir: dir, NoIndex: true}, recs[:200]); got != 200 {
		t.Fatalf("first run wrote %v records", got)
	}
	// Drop the durable consumer, as if the stream's consumer state were lost.
	s, err := stream.OpenNATS(context.Background(), stream.Config{Dir: dir + "/stream"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConsumer(context.Background(), "lake"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The restart resumes after seq 200 (the manifest): only the 100 new
	// records reach the lake sink.
	if got := runNode(t, Config{DataDir: dir, NoIndex: true}, recs); got != 100 {
		t.Fatalf("second run wrote %v records, want only the 100 new ones", got)
	}
	if n := countStats(t, dir); n != 300 {
		t.Fatalf("video_stats has %d rows, want 300", n)
	}
}

// TestLakeCheckpointOfARecreatedStreamIsNotTrusted: the stream's storage is
// lost and a new stream grows past the old checkpoint before the lake sink
// starts. Its sequences restart, so the checkpoint (seq 200 of the old
// stream) must not make the sink skip the new stream's first 200 records.
func TestLakeCheckpointOfARecreatedStreamIsNotTrusted(t *testing.T) {
	dir := t.TempDir()
	old := make([]yt.Record, 200)
	for i := range old {
		old[i] = SyntheticVideo(i, 1000, 1)
	}
	runNode(t, Config{DataDir: dir, NoIndex: true}, old)
	if err := os.RemoveAll(dir + "/stream"); err != nil {
		t.Fatal(err)
	}
	// A new stream with 300 other records, published before the sinks run.
	s, err := stream.OpenNATS(context.Background(), stream.Config{Dir: dir + "/stream"})
	if err != nil {
		t.Fatal(err)
	}
	fresh := make([]yt.Record, 300)
	for i := range fresh {
		fresh[i] = SyntheticVideo(500+i, 1000, 1)
	}
	if err := s.Publish(context.Background(), fresh...); err != nil {
		t.Fatal(err)
	}
	s.Close()
	runNode(t, Config{DataDir: dir, NoIndex: true}, nil)
	if n := countStats(t, dir); n != 500 {
		t.Fatalf("video_stats has %d rows, want 500 (200 old + 300 from the new stream)", n)
	}
}

// syntheticVideoReference is SyntheticVideo written plainly (the
// benchmark's original generator): the allocation-lean one must build the
// same records, ids included, or 10M-record runs stop being comparable.
func syntheticVideoReference(i, n, days int) yt.Record {
	if days < 1 {
		days = 1
	}
	videos := max(n/days, 1)
	channels := max(videos/50, 1)
	vi, day := i%videos, i/videos
	ci := vi % channels
	views := int64((vi*7919)%100_000+1) * int64(day+1) * int64(ci%7+1)
	v := &yt.Video{
		ID:        "v" + encodeID(vi, 10),
		ETag:      "e" + strconv.Itoa(i),
		FetchedAt: benchBase.Add(time.Duration(day)*24*time.Hour + time.Duration(vi%86_000)*time.Second),
		Snippet: yt.VideoSnippet{
			PublishedAt:  benchBase.Add(-time.Duration(vi%1000) * time.Hour),
			ChannelID:    "UC" + encodeID(ci, 22),
			Title:        "synthetic video " + strconv.Itoa(vi) + " 초등영어 lesson",
			ChannelTitle: "channel " + strconv.Itoa(ci),
			Tags:         []string{"bench", "tag" + strconv.Itoa(vi%100)},
			CategoryID:   strconv.Itoa(vi%30 + 1),
			Thumbnail:    yt.Thumbnail{URL: "https://i.ytimg.com/vi/" + strconv.Itoa(vi) + "/default.jpg", Width: 120, Height: 90},
		},
		Statistics:     yt.VideoStatistics{ViewCount: yt.Int64(views), LikeCount: yt.Int64(views / 20), CommentCount: yt.Int64(views / 200)},
		ContentDetails: yt.VideoContentDetails{Duration: "PT" + strconv.Itoa(vi%59+1) + "M", Dimension: "2d", Definition: "hd", Caption: "false"},
	}
	return yt.NewVideoRecord("bench", v)
}

func TestSyntheticVideoIsTheReference(t *testing.T) {
	var g synth
	for _, c := range [][3]int{{0, 10, 1}, {7, 100, 10}, {999_999, 1_000_000, 10}, {123_456_789, 200_000_000, 3}, {5, 3, 0}} {
		want := syntheticVideoReference(c[0], c[1], c[2])
		for _, got := range []yt.Record{SyntheticVideo(c[0], c[1], c[2]), g.video(c[0], c[1], c[2])} {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("SyntheticVideo%v:\n got %+v %+v\nwant %+v %+v", c, got, *got.Video, want, *want.Video)
			}
		}
	}
}
