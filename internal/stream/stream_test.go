package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tubelake/tubelake/internal/yt"
)

func videoRec(i int, at time.Time) yt.Record {
	v := &yt.Video{ID: fmt.Sprintf("vid%08d", i), FetchedAt: at}
	v.Snippet.Title = fmt.Sprintf("title %d", i)
	v.Statistics.ViewCount = yt.Int64(int64(i))
	return yt.NewVideoRecord("test", v)
}

// env is one engine under test: open (re)connects to the same stream, raw
// publishes bytes that bypass the codec (to test the dead-letter queue).
type env struct {
	open    func(t *testing.T) Stream
	raw     func(t *testing.T, s Stream, b []byte)
	dedupes bool // the engine drops a re-published record id itself
}

// engineCase.setup starts the engine's servers once per engine and returns
// a constructor for a fresh, empty stream on them.
type engineCase struct {
	name  string
	setup func(t *testing.T) func(t *testing.T) env
}

var engines = []engineCase{
	{"embedded", func(*testing.T) func(*testing.T) env { return newEmbedded }},
	{"nats-cluster-R3", newNATSCluster},
	{"kafka-kfake", func(*testing.T) func(*testing.T) env { return newKfake }},
}

func openOrFail(t *testing.T, cfg Config) Stream {
	t.Helper()
	var lastErr error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := Open(ctx, cfg)
		cancel()
		if err == nil {
			return s
		}
		lastErr = err // a fresh cluster may still be electing its meta leader
	}
	t.Fatal(lastErr)
	return nil
}

func natsRaw(t *testing.T, s Stream, b []byte) {
	n := s.(*NATS)
	if _, err := n.js.Publish(context.Background(), subjectPrefix+"video", b); err != nil {
		t.Fatal(err)
	}
}

func newEmbedded(t *testing.T) env {
	dir := t.TempDir()
	return env{open: func(t *testing.T) Stream { return openOrFail(t, Config{Dir: dir}) }, raw: natsRaw, dedupes: true}
}

func freePorts(t *testing.T, n int) []int {
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// startNATSCluster runs a 3-node JetStream cluster on loopback ports and
// returns its client URL list.
func startNATSCluster(t testing.TB, dir string) string {
	ports := freePorts(t.(*testing.T), 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var urls []string
	for i := range 3 {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: filepath.Join(dir, fmt.Sprintf("n%d", i)),
			NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: "tubelake-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		ns, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		ns.Start()
		t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
		if !ns.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats node not ready")
		}
		urls = append(urls, ns.ClientURL())
	}
	return strings.Join(urls, ",")
}

// newNATSCluster starts the cluster once (leader elections take seconds);
// every env starts from deleted streams.
func newNATSCluster(t *testing.T) func(t *testing.T) env {
	u := startNATSCluster(t, t.TempDir()) + "?replicas=3"
	return func(t *testing.T) env {
		s := openOrFail(t, Config{URL: u}).(*NATS)
		for _, name := range []string{StreamName, DLQStreamName} {
			if err := s.js.DeleteStream(context.Background(), name); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		return env{open: func(t *testing.T) Stream { return openOrFail(t, Config{URL: u}) }, raw: natsRaw, dedupes: true}
	}
}

func newKfake(t *testing.T) env {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		return net.Listen("tcp", "127.0.0.1:0")
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	u := "kafka://" + strings.Join(c.ListenAddrs(), ",")
	return env{open: func(t *testing.T) Stream { return openOrFail(t, Config{URL: u, Replicas: 3}) },
		raw: func(t *testing.T, s Stream, b []byte) {
			k := s.(*Kafka)
			if err := k.cl.ProduceSync(context.Background(), &kgo.Record{Topic: k.topic, Value: b}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}}
}

// collect consumes until n records arrived or the timeout hits.
func collect(t *testing.T, s Stream, name string, opt ConsumeOptions, n int, fail func(Batch) error) []yt.Record {
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

// TestContract runs the same delivery contract against every engine.
func TestContract(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			newEnv := e.setup(t)
			t.Run("PublishDedupeTwoSinks", func(t *testing.T) { testPublishDedupeTwoSinks(t, newEnv(t)) })
			t.Run("FailedSinkRetriesAndRestartResumes", func(t *testing.T) { testRetryAndRestart(t, newEnv(t)) })
			t.Run("InFlightBatchIsRedelivered", func(t *testing.T) { testInFlight(t, newEnv(t)) })
			t.Run("StartAfterReplays", func(t *testing.T) { testStartAfter(t, newEnv(t)) })
			t.Run("UndecodableToDLQ", func(t *testing.T) { testDLQ(t, newEnv(t)) })
		})
	}
}

var at0 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func recsN(n int) []yt.Record {
	recs := make([]yt.Record, n)
	for i := range recs {
		recs[i] = videoRec(i, at0)
	}
	return recs
}

func testPublishDedupeTwoSinks(t *testing.T, e env) {
	s := e.open(t)
	defer s.Close()
	ctx := context.Background()
	recs := recsN(2500)
	if err := s.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	// Re-publishing the same observations: dropped by the engine's dedupe
	// window where it has one, else delivered again with the same ids.
	if err := s.Publish(ctx, recs[:1000]...); err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := 3500
	if e.dedupes {
		want = 2500
	}
	if info.Messages != uint64(want) || info.LastSeq != uint64(want) {
		t.Fatalf("stream holds %d messages (last seq %d), want %d", info.Messages, info.LastSeq, want)
	}
	for _, sink := range []string{"lake", "index"} {
		got := collect(t, s, sink, ConsumeOptions{BatchSize: 300}, want, nil)
		seen := map[string]int{}
		for _, r := range got {
			seen[r.ID]++
		}
		if len(got) != want || len(seen) != 2500 {
			t.Fatalf("%s: got %d records, %d distinct, want %d and 2500", sink, len(got), len(seen), want)
		}
	}
	info, _ = s.Info(ctx)
	for _, sink := range []string{"lake", "index"} {
		if lag, ok := info.Consumers[sink]; !ok || lag != 0 {
			t.Errorf("%s lag %d (known %v) after consuming everything", sink, lag, ok)
		}
	}
}

func testRetryAndRestart(t *testing.T, e env) {
	s := e.open(t)
	ctx := context.Background()
	recs := recsN(100)
	if err := s.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	fails := 2
	var firstSeqs []uint64
	got := collect(t, s, "lake", ConsumeOptions{BatchSize: 40}, 40, func(b Batch) error {
		firstSeqs = append(firstSeqs, b.FirstSeq)
		if fails > 0 {
			fails--
			return errors.New("disk full")
		}
		return nil
	})
	if fails != 0 || len(got) != 40 || got[0].ID != recs[0].ID {
		t.Fatalf("after failures got %d records starting %v (fails left %d)", len(got), got[0].ID, fails)
	}
	for _, f := range firstSeqs {
		if f != 1 {
			t.Fatalf("retried batches started at %v, want the same batch (seq 1) each time", firstSeqs)
		}
	}
	s.Close()

	// A restart resumes after the acknowledged batch: nothing lost, nothing re-sent.
	s = e.open(t)
	defer s.Close()
	rest := collect(t, s, "lake", ConsumeOptions{BatchSize: 1000}, 60, nil)
	if len(rest) != 60 || rest[0].ID != recs[40].ID {
		t.Fatalf("after restart got %d records starting %s, want 60 starting %s", len(rest), rest[0].ID, recs[40].ID)
	}
}

// A batch delivered but not made durable (the sink died mid-batch) must be
// delivered again after a restart, even though later records were
// published meanwhile and acking them acknowledges everything before.
func testInFlight(t *testing.T, e env) {
	s := e.open(t)
	ctx := context.Background()
	recs := recsN(60)
	if err := s.Publish(ctx, recs[:30]...); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	err := s.Consume(cctx, "lake", ConsumeOptions{BatchSize: 10, MaxWait: 100 * time.Millisecond}, func(ctx context.Context, b Batch) error {
		cancel() // dies while making the first batch durable
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = e.open(t)
	defer s.Close()
	if err := s.Publish(ctx, recs[30:]...); err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, "lake", ConsumeOptions{BatchSize: 25}, 60, nil)
	if len(got) != 60 || got[0].ID != recs[0].ID {
		t.Fatalf("after restart got %d records starting %s, want 60 starting %s", len(got), got[0].ID, recs[0].ID)
	}
}

func testStartAfter(t *testing.T, e env) {
	s := e.open(t)
	defer s.Close()
	ctx := context.Background()
	recs := recsN(50)
	if err := s.Publish(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	zero := uint64(0)
	if got := collect(t, s, "index", ConsumeOptions{StartAfter: &zero}, 50, nil); len(got) != 50 {
		t.Fatalf("got %d", len(got))
	}
	// The index lost its in-memory state after seq 20: it replays 21..50.
	cp := uint64(20)
	var first uint64
	got := collect(t, s, "index", ConsumeOptions{StartAfter: &cp}, 30, func(b Batch) error {
		if first == 0 {
			first = b.FirstSeq
		}
		return nil
	})
	if len(got) != 30 || got[0].ID != recs[20].ID || first != 21 {
		t.Fatalf("replay got %d starting %s at seq %d", len(got), got[0].ID, first)
	}
}

func testDLQ(t *testing.T, e env) {
	s := e.open(t)
	defer s.Close()
	ctx := context.Background()
	e.raw(t, s, []byte(`{"v":1,"id":"x","kind":"video"`))
	good := videoRec(1, at0)
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
	if n, ok := s.(*NATS); ok {
		m, err := n.js.Stream(ctx, DLQStreamName)
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
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"redis://x:1", "kafka://", "nats://h:1?replicas=9", "kafka://user:secret@h"} {
		_, err := Open(context.Background(), Config{URL: u})
		if err == nil {
			t.Errorf("%s: no error", u)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error leaks credentials: %v", u, err)
		}
	}
}
