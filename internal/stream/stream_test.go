package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tubelake/tubelake/internal/yt"
)

func videoRec(i int, at time.Time) yt.Record {
	v := &yt.Video{ID: fmt.Sprintf("vid%08d", i), FetchedAt: at}
	v.Snippet.Title = fmt.Sprintf("title %d", i)
	v.Statistics.ViewCount = yt.Int64(int64(i))
	return yt.NewVideoRecord("test", v)
}

func open(t *testing.T, dir string) *Stream {
	t.Helper()
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// collect consumes until n records arrived or the timeout hits.
func collect(t *testing.T, s *Stream, name string, opt ConsumeOptions, n int, fail func(Batch) error) []yt.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		got []yt.Record
	)
	opt.MaxWait = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		done <- s.Consume(ctx, name, opt, func(ctx context.Context, b Batch) error {
			if fail != nil {
				if err := fail(b); err != nil {
					return err
				}
			}
			mu.Lock()
			defer mu.Unlock()
			got = append(got, b.Records...)
			if len(got) >= n {
				cancel()
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]yt.Record(nil), got...)
}

func TestPublishDedupeAndTwoSinks(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var recs []yt.Record
	for i := range 2500 {
		recs = append(recs, videoRec(i, at))
	}
	if err := s.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	// Re-publishing the same observations is dropped by the dedupe window.
	if err := s.Publish(ctx, recs[:1000]...); err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Messages != 2500 {
		t.Fatalf("stream holds %d messages, want 2500 (dedupe by Nats-Msg-Id)", info.Messages)
	}
	for _, sink := range []string{"lake", "index"} {
		got := collect(t, s, sink, ConsumeOptions{BatchSize: 300}, 2500, nil)
		seen := map[string]int{}
		for _, r := range got {
			seen[r.ID]++
		}
		if len(got) != 2500 || len(seen) != 2500 {
			t.Fatalf("%s: got %d records, %d distinct, want 2500", sink, len(got), len(seen))
		}
	}
	info, _ = s.Info(ctx)
	for _, sink := range []string{"lake", "index"} {
		if lag := info.Consumers[sink]; lag != 0 {
			t.Errorf("%s lag %d after consuming everything", sink, lag)
		}
	}
}

func TestFailedSinkRetriesSameBatchAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var recs []yt.Record
	for i := range 100 {
		recs = append(recs, videoRec(i, at))
	}
	if err := s.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	fails := 2
	got := collect(t, s, "lake", ConsumeOptions{BatchSize: 40}, 40, func(b Batch) error {
		if fails > 0 {
			fails--
			return errors.New("disk full")
		}
		return nil
	})
	if fails != 0 || len(got) != 40 || got[0].ID != recs[0].ID {
		t.Fatalf("after failures got %d records starting %v (fails left %d)", len(got), got[0].ID, fails)
	}
	s.Close()

	// A restart resumes after the acknowledged batch: nothing lost, nothing re-sent.
	s = open(t, dir)
	defer s.Close()
	rest := collect(t, s, "lake", ConsumeOptions{BatchSize: 1000}, 60, nil)
	if len(rest) != 60 || rest[0].ID != recs[40].ID {
		t.Fatalf("after restart got %d records starting %s, want 60 starting %s", len(rest), rest[0].ID, recs[40].ID)
	}
}

func TestStartAfterRepositionsDurable(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	var recs []yt.Record
	for i := range 50 {
		recs = append(recs, videoRec(i, at))
	}
	if err := s.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	zero := uint64(0)
	if got := collect(t, s, "index", ConsumeOptions{StartAfter: &zero}, 50, nil); len(got) != 50 {
		t.Fatalf("got %d", len(got))
	}
	// The index lost its in-memory state after seq 20: it replays 21..50.
	cp := uint64(20)
	got := collect(t, s, "index", ConsumeOptions{StartAfter: &cp}, 30, nil)
	if len(got) != 30 || got[0].ID != recs[20].ID {
		t.Fatalf("replay got %d starting %s", len(got), got[0].ID)
	}
}

func TestUndecodableRecordGoesToDLQ(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	if err := s.nc.Publish(subjectPrefix+"video", []byte(`{"v":1,"id":"x","kind":"video"`)); err != nil {
		t.Fatal(err)
	}
	_ = s.nc.Flush()
	good := videoRec(1, time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	if err := s.Publish(ctx, good); err != nil {
		t.Fatal(err)
	}
	var dlq []uint64
	got := collect(t, s, "lake", ConsumeOptions{OnDLQ: func(seq uint64, err error) { dlq = append(dlq, seq) }}, 1, nil)
	if len(got) != 1 || got[0].ID != good.ID {
		t.Fatalf("got %v", got)
	}
	if len(dlq) != 1 || dlq[0] != 1 {
		t.Fatalf("dlq seqs %v, want [1]", dlq)
	}
	info, _ := s.Info(ctx)
	if info.DLQ != 1 {
		t.Fatalf("dead letters %d, want 1", info.DLQ)
	}
	sub, err := s.nc.SubscribeSync("x.unused")
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.Unsubscribe()
	m, err := s.js.Stream(ctx, DLQStreamName)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if raw.Header.Get("Tubelake-Error") == "" || string(raw.Data) != `{"v":1,"id":"x","kind":"video"` {
		t.Fatalf("dlq message lacks the original bytes or reason: %v %q", raw.Header, raw.Data)
	}
	_ = nats.ErrTimeout
}
