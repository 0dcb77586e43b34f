package stream

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tubelake/tubelake/internal/yt"
)

// TestMultiRecordMessages: with RecordsPerMessage the JetStream engine packs
// records into fewer messages; consumers see the same records, identical
// re-published batches are dropped by the dedupe window, a bad record inside
// a batch is dead-lettered alone, and StartAfter counts messages.
func TestMultiRecordMessages(t *testing.T) {
	dir := t.TempDir()
	s := openOrFail(t, Config{Dir: dir, RecordsPerMessage: 64}).(*NATS)
	defer s.Close()
	ctx := context.Background()
	recs := recsN(1000)
	for range 2 { // the second publish is the same batches: deduplicated
		if err := s.Publish(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	info, _ := s.Info(ctx)
	if info.Messages != 16 {
		t.Fatalf("%d messages for 1000 records at 64 per message (twice), want 16", info.Messages)
	}
	got := collect(t, s, "lake", ConsumeOptions{BatchSize: 256}, 1000, nil)
	seen := map[string]bool{}
	for i, r := range got {
		if r.ID != recs[i].ID {
			t.Fatalf("record %d is %s, want %s (order)", i, r.ID, recs[i].ID)
		}
		seen[r.ID] = true
	}
	if len(got) != 1000 || len(seen) != 1000 {
		t.Fatalf("got %d records, %d distinct", len(got), len(seen))
	}
	// StartAfter is a message sequence: after message 2 come records 128...
	two := uint64(2)
	got = collect(t, s, "replay", ConsumeOptions{StartAfter: &two, BatchSize: 64}, 872, nil)
	if len(got) != 872 || got[0].ID != recs[128].ID {
		t.Fatalf("replay after message 2: %d records starting %s", len(got), got[0].ID)
	}

	// A batch with one undecodable record: the others are delivered.
	good := []yt.Record{videoRec(5000, at0), videoRec(5001, at0)}
	b, err := encodeBinBatch(nil, good) // uncompressed, to append a raw frame
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(`{"v":1,"id":"x"`)
	b = binary.AppendUvarint(b, uint64(len(bad)))
	b = append(b, bad...)
	natsRaw(t, s, b)
	var dlq int
	got = collect(t, s, "lake", ConsumeOptions{OnDLQ: func(uint64, error) { dlq++ }}, 2, nil)
	if len(got) != 2 || got[0].ID != good[0].ID || dlq != 1 {
		t.Fatalf("batch with a bad record: got %d records, %d dead letters", len(got), dlq)
	}
	// A truncated frame dead-letters the whole message.
	natsRaw(t, s, append([]byte{batchVersion}, 0xff))
	if err := s.Publish(ctx, videoRec(6000, at0)); err != nil {
		t.Fatal(err)
	}
	got = collect(t, s, "lake", ConsumeOptions{OnDLQ: func(uint64, error) { dlq++ }}, 1, nil)
	if len(got) != 1 || dlq != 2 {
		t.Fatalf("truncated batch: got %d records, %d dead letters", len(got), dlq)
	}
	if info, _ := s.Info(ctx); info.DLQ != 2 {
		t.Fatalf("%d dead letters stored, want 2", info.DLQ)
	}
}

// TestKafkaMultiRecordMessages: Kafka packs records the same way; the
// consumer's BatchSize still counts records, sequences count messages.
func TestKafkaMultiRecordMessages(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		return net.Listen("tcp", "127.0.0.1:0")
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := openOrFail(t, Config{URL: "kafka://" + strings.Join(c.ListenAddrs(), ","), RecordsPerMessage: 64})
	defer s.Close()
	ctx := context.Background()
	recs := recsN(1000)
	if err := s.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Info(ctx); info.LastSeq != 16 {
		t.Fatalf("last sequence %d for 1000 records at 64 per message, want 16", info.LastSeq)
	}
	var maxBatch int
	got := collect(t, s, "lake", ConsumeOptions{BatchSize: 256}, 1000, func(b Batch) error {
		maxBatch = max(maxBatch, len(b.Records))
		return nil
	})
	if len(got) != 1000 || maxBatch > 256 {
		t.Fatalf("got %d records, largest batch %d (BatchSize 256)", len(got), maxBatch)
	}
	for i, r := range got {
		if r.ID != recs[i].ID {
			t.Fatalf("record %d is %s, want %s (order)", i, r.ID, recs[i].ID)
		}
	}
}
