package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/stream"
	"github.com/tubelake/tubelake/internal/yt"
)

// The crash test re-executes this test binary as the pipeline process
// (TestCrashChild with TUBELAKE_CRASH_DIR set), SIGKILLs it at random
// points while it ingests, compacts and flushes its index, restarts it,
// and finally proves with DuckDB that every published record is in the
// lake exactly once, and that the index recovered from its snapshot, its
// deltas and the stream's replay holds exactly what an index that applied
// every record once holds.

const (
	crashRecords = 20000
	crashDays    = 4
	crashKills   = 20
)

// crashRecord mixes video snapshots with channel snapshots and events so
// every table takes part.
func crashRecord(i int) yt.Record {
	switch i % 10 {
	case 7:
		c := &yt.Channel{ID: "UC" + encodeID(i%300, 22), FetchedAt: benchBase.Add(time.Duration(i%crashDays)*24*time.Hour + time.Duration(i)*time.Millisecond)}
		c.Snippet.Title = "channel " + strconv.Itoa(i)
		c.Statistics.SubscriberCount = yt.Int64(int64(i))
		return yt.NewChannelRecord("crash", c)
	case 9:
		return yt.NewEventRecord("crash", &yt.Event{Type: yt.EventMilestone, EntityID: "v" + encodeID(i, 10), New: strconv.Itoa(i),
			ObservedAt: benchBase.Add(time.Duration(i%crashDays)*24*time.Hour + time.Duration(i)*time.Millisecond)})
	}
	return SyntheticVideo(i, crashRecords, crashDays)
}

// TestCrashChild is the pipeline process of TestCrashKillRestart; it does
// nothing unless TUBELAKE_CRASH_DIR is set.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("TUBELAKE_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process for TestCrashKillRestart")
	}
	if err := crashChild(dir); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

func crashChild(dir string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rpm, _ := strconv.Atoi(os.Getenv("TUBELAKE_CRASH_RPM"))
	// The index flushes every 100 ms (deltas, now and then a full
	// snapshot), so kills land in its flushes too.
	n, err := Open(ctx, Config{DataDir: dir, BatchSize: 700, MaxWait: 50 * time.Millisecond, StreamRecordsPerMessage: rpm, IndexFlushEvery: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer n.Close()
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(ctx) }()
	// Compact concurrently with ingest, with a small target so it keeps
	// rewriting files while the writer appends.
	compactDone := make(chan struct{})
	go func() {
		defer close(compactDone)
		for ctx.Err() == nil {
			compactAll(ctx, n.Lake, 64<<10)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	// Publish everything from the start on every (re)start: deterministic
	// ids make the re-publish a no-op (JetStream dedupe, idempotent lake).
	// Paced (~2,000 records/s) so that the 20 kills land during ingest.
	for lo := 0; lo < crashRecords; lo += 100 {
		batch := make([]yt.Record, 0, 100)
		for i := lo; i < min(lo+100, crashRecords); i++ {
			batch = append(batch, crashRecord(i))
		}
		if err := n.Publish(ctx, batch...); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := n.WaitIdle(ctx); err != nil {
		return err
	}
	cancel()
	<-compactDone
	if err := <-runErr; err != nil {
		return err
	}
	// Final full compaction: one file per partition.
	return compactAll(context.Background(), n.Lake, 0)
}

func compactAll(ctx context.Context, l *lake.Lake, target int64) error {
	for _, table := range lake.Tables() {
		dts, err := l.Partitions(ctx, table)
		if err != nil {
			return err
		}
		for _, dt := range dts {
			if _, err := l.Compact(ctx, table, dt, target); err != nil {
				return err
			}
		}
	}
	return nil
}

func TestCrashKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns and kills the pipeline 20 times")
	}
	dir := t.TempDir()
	if d := os.Getenv("TUBELAKE_CRASH_KEEP"); d != "" {
		dir = d // keep the data for a post-mortem
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	start := time.Now()
	runs := 0
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		// Alternate one record per message with 20 per message, so both
		// message formats share the stream across crashes.
		rpm := 1 + 19*(runs%2)
		runs++
		cmd.Env = append(os.Environ(), "TUBELAKE_CRASH_DIR="+dir, "TUBELAKE_CRASH_RPM="+strconv.Itoa(rpm))
		cmd.Stderr = os.Stderr
		return cmd
	}
	finishedEarly := 0
	for k := range crashKills {
		cmd := child()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wait := time.Duration(150+rng.IntN(1500)) * time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child %d failed before the kill: %v", k, err)
			}
			finishedEarly++
		case <-time.After(wait):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
		files, _ := filepath.Glob(filepath.Join(dir, "lake", "*", "dt=*", "*.parquet"))
		temps, _ := filepath.Glob(filepath.Join(dir, "lake", "*", "dt=*", "*.tmp"))
		t.Logf("kill %2d after %v: %d files, %d temp files", k+1, wait, len(files), len(temps))
	}
	// Final run to completion.
	cmd := child()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	out.Env, out.Stderr = cmd.Env, os.Stderr
	if err := out.Run(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	t.Logf("%d kills (%d runs finished before their kill), total %v", crashKills, finishedEarly, time.Since(start).Round(time.Millisecond))

	want := map[string]map[string]bool{}
	ents := map[string]map[string]bool{lake.TableVideos: {}, lake.TableChannels: {}}
	for i := range crashRecords {
		r := crashRecord(i)
		switch r.Kind {
		case yt.KindVideo:
			ents[lake.TableVideos][r.Video.ID] = true
		case yt.KindChannel:
			ents[lake.TableChannels][r.Channel.ID] = true
		}
		for _, table := range tablesOf(r.Kind) {
			if want[table] == nil {
				want[table] = map[string]bool{}
			}
			want[table][r.ID] = true
		}
	}
	entities := map[string]int{lake.TableVideos: len(ents[lake.TableVideos]), lake.TableChannels: len(ents[lake.TableChannels])}
	db, err := lakesql.Open(context.Background(), filepath.Join(dir, "lake"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for table, ids := range want {
		if table == lake.TableVideos || table == lake.TableChannels {
			// These views show the latest snapshot per entity.
			res, err := db.Query(context.Background(), "SELECT count(*), count(DISTINCT id) FROM "+table)
			if err != nil {
				t.Fatal(err)
			}
			if n, d := res.Rows[0][0].(int64), res.Rows[0][1].(int64); n != int64(entities[table]) || d != n {
				t.Errorf("%s view: %d rows, %d distinct ids, want %d", table, n, d, entities[table])
			}
		} else {
			checkView(t, db, table, ids)
		}
		// Physically, after the final compaction: no duplicate rows at all.
		res, err := db.Query(context.Background(), fmt.Sprintf("SELECT count(*), count(DISTINCT record_id) FROM read_parquet('%s')", lakesql.GlobFor(db.Dir(), table)))
		if err != nil {
			t.Fatal(err)
		}
		if n, d := res.Rows[0][0].(int64), res.Rows[0][1].(int64); n != int64(len(ids)) || d != int64(len(ids)) {
			t.Errorf("%s: %d physical rows, %d distinct, want %d each", table, n, d, len(ids))
		}
		files, _ := filepath.Glob(filepath.Join(dir, "lake", table, "dt=*", "*.parquet"))
		parts, _ := filepath.Glob(filepath.Join(dir, "lake", table, "dt=*"))
		if len(files) != len(parts) {
			t.Errorf("%s: %d files in %d partitions after the final compaction", table, len(files), len(parts))
		}
		t.Logf("%s: %d records, exactly once (view and physical), %d files", table, len(ids), len(files))
	}
	st, err := stream.OpenNATS(context.Background(), stream.Config{Dir: filepath.Join(dir, "stream")})
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	cp, ok, err := openLakeCheckpoint(filepath.Join(dir, "lake"))
	if err != nil || !ok || cp.Seq != info.LastSeq {
		t.Errorf("lake checkpoint %+v ok=%v err=%v, want last_seq %d (the stream's last)", cp, ok, err, info.LastSeq)
	}
	t.Logf("stream: %d messages for %d records (runs alternated 1 and 20 records per message)", info.Messages, crashRecords)
	checkCrashIndex(t, filepath.Join(dir, "index"))
}

// checkCrashIndex compares the index the crashed and restarted pipeline
// left in dir with one that applied every record once, in order.
func checkCrashIndex(t *testing.T, dir string) {
	got, err := index.Open(dir, index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	want, err := index.Open("", index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	var videos, channels []string
	for lo := 0; lo < crashRecords; lo += 1000 {
		var recs []yt.Record
		for i := lo; i < min(lo+1000, crashRecords); i++ {
			r := crashRecord(i)
			recs = append(recs, r)
			switch r.Kind {
			case yt.KindVideo:
				videos = append(videos, r.Video.ID)
			case yt.KindChannel:
				channels = append(channels, r.Channel.ID)
			}
		}
		if err := want.Apply(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	ws, gs := want.Stats(), got.Stats()
	if ws.Docs != gs.Docs || ws.Deleted != gs.Deleted || ws.Channels != gs.Channels || ws.Grams != gs.Grams {
		t.Fatalf("index after the crashes: %d docs, %d deleted, %d channels, %d grams; want %d, %d, %d, %d",
			gs.Docs, gs.Deleted, gs.Channels, gs.Grams, ws.Docs, ws.Deleted, ws.Channels, ws.Grams)
	}
	for _, id := range videos {
		w, wok := want.VideoDoc(id)
		g, gok := got.VideoDoc(id)
		if wok != gok || !reflect.DeepEqual(w, g) {
			t.Fatalf("video %s after the crashes:\n got %+v\nwant %+v", id, g, w)
		}
	}
	for _, id := range channels {
		w, _ := want.Channel(id)
		g, _ := got.Channel(id)
		if !reflect.DeepEqual(w, g) {
			t.Fatalf("channel %s after the crashes:\n got %+v\nwant %+v", id, g, w)
		}
	}
	for _, q := range []string{"초등영어", "lesson", "synthetic video 12", "channel 7"} {
		iq := index.Query{Q: q, Sort: index.SortViews, In: []index.Field{index.FieldTitle, index.FieldChannel}, ExactTotal: true}
		w, err1 := want.Search(context.Background(), iq)
		g, err2 := got.Search(context.Background(), iq)
		if err1 != nil || err2 != nil || w.Total != g.Total || !reflect.DeepEqual(hitIDs(w), hitIDs(g)) {
			t.Fatalf("search %q after the crashes: %d %v (%v), want %d %v (%v)", q, g.Total, hitIDs(g), err2, w.Total, hitIDs(w), err1)
		}
	}
	t.Logf("index: %d videos, %d channels, %d grams, identical to applying every record once (snapshot + %d deltas, %d bytes)",
		gs.Docs, gs.Channels, gs.Grams, gs.Deltas, gs.SnapBytes)
}

func hitIDs(r index.Result) []string {
	var out []string
	for _, h := range r.Items {
		out = append(out, h.ID)
	}
	return out
}

// checkView proves every record of ids is in the (record_id-deduped) view
// exactly once, and nothing else is.
func checkView(t *testing.T, db *lakesql.DB, table string, ids map[string]bool) {
	res, err := db.Query(context.Background(), "SELECT record_id, count(*) FROM "+table+" GROUP BY record_id")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, row := range res.Rows {
		id := row[0].(string)
		if !ids[id] {
			t.Errorf("%s: unexpected record %s", table, id)
		}
		if row[1].(int64) != 1 {
			t.Errorf("%s: %s appears %d times in the view", table, id, row[1])
		}
		got[id] = true
	}
	if len(got) != len(ids) {
		var missing []string
		for id := range ids {
			if !got[id] {
				missing = append(missing, id)
			}
		}
		slices.Sort(missing)
		t.Errorf("%s: %d records in the view, want %d; missing %d, e.g. %v", table, len(got), len(ids), len(missing), missing[:min(len(missing), 5)])
	}
}

func openLakeCheckpoint(dir string) (lake.Checkpoint, bool, error) {
	l, err := lake.Open(context.Background(), dir, lake.Options{})
	if err != nil {
		return lake.Checkpoint{}, false, err
	}
	defer l.Close()
	return l.ReadCheckpoint(context.Background(), lakeConsumer)
}

func tablesOf(k yt.Kind) []string {
	switch k {
	case yt.KindVideo:
		return []string{lake.TableVideos, lake.TableVideoStats}
	case yt.KindChannel:
		return []string{lake.TableChannels, lake.TableChannelStats}
	case yt.KindEvent:
		return []string{lake.TableEvents}
	}
	panic(errors.New("unknown kind"))
}
