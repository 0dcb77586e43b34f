package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tubelake/tubelake/internal/yt"
)

// Names of the JetStream objects tubelake owns.
const (
	StreamName    = "TUBELAKE"
	DLQStreamName = "TUBELAKE_DLQ"
	subjectPrefix = "tubelake.rec."
	dlqPrefix     = "tubelake.dlq."
)

// Config selects and tunes the stream engine.
type Config struct {
	// URL is "" (or "embedded") for the in-process server, or a nats:// URL
	// (comma-separated for a cluster) for an external one.
	URL string
	// Dir is the embedded server's storage directory (required when embedded).
	Dir string
	// Replicas for the stream on an external cluster (default 1).
	Replicas int
	// MaxAge bounds how long records stay on the stream (default 7 days);
	// the lake keeps the full history.
	MaxAge time.Duration
	// DedupeWindow is JetStream's duplicate window for Nats-Msg-Id (default 2h).
	DedupeWindow time.Duration
	// RecordsPerMessage > 1 packs up to that many records into one
	// JetStream message (see codec.go): far less broker work per record.
	// The message's Nats-Msg-Id is a digest of its record ids, so the
	// server's dedupe drops a re-publish of the same batch only; the sinks'
	// record-id idempotence handles the rest. Consumers fetch
	// BatchSize/RecordsPerMessage messages at a time. Kafka ignores it.
	RecordsPerMessage int
	// Listen, if set for the embedded server, also opens a client port
	// (e.g. "127.0.0.1:4222") so other processes can share this stream.
	Listen string
	Logger *slog.Logger
}

// NATS is the JetStream engine (embedded server or external cluster).
type NATS struct {
	cfg  Config
	log  *slog.Logger
	ns   *server.Server // nil when external
	nc   *nats.Conn
	js   jetstream.JetStream
	st   jetstream.Stream
	dlq  jetstream.Stream
	pubM sync.Mutex
}

// OpenNATS starts (embedded) or connects to (external) JetStream and makes
// sure the TUBELAKE streams exist.
func OpenNATS(ctx context.Context, cfg Config) (*NATS, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.DedupeWindow == 0 {
		cfg.DedupeWindow = 2 * time.Hour
	}
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	s := &NATS{cfg: cfg, log: cfg.Logger}
	var err error
	if cfg.URL == "" || cfg.URL == "embedded" {
		if cfg.Dir == "" {
			return nil, errors.New("stream: embedded engine needs a storage directory")
		}
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("stream: %w", err)
		}
		opts := &server.Options{
			ServerName: "tubelake",
			JetStream:  true,
			StoreDir:   filepath.Clean(cfg.Dir),
			NoSigs:     true,
			NoLog:      true,
			DontListen: true,
			// Bound the embedded server's memory; data lives in files.
			JetStreamMaxMemory: 64 << 20,
		}
		if cfg.Listen != "" {
			host, port, err := splitHostPort(cfg.Listen)
			if err != nil {
				return nil, fmt.Errorf("stream: listen %q: %w", cfg.Listen, err)
			}
			opts.DontListen, opts.Host, opts.Port = false, host, port
		}
		s.ns, err = server.NewServer(opts)
		if err != nil {
			return nil, fmt.Errorf("stream: start embedded nats: %w", err)
		}
		s.ns.Start()
		if !s.ns.ReadyForConnections(30 * time.Second) {
			s.ns.Shutdown()
			return nil, errors.New("stream: embedded nats did not become ready in 30s")
		}
		s.nc, err = nats.Connect("", nats.InProcessServer(s.ns), nats.Name("tubelake"))
	} else {
		if _, perr := url.Parse(strings.Split(cfg.URL, ",")[0]); perr != nil {
			return nil, fmt.Errorf("stream: bad url: %w", perr)
		}
		s.nc, err = nats.Connect(cfg.URL, nats.Name("tubelake"), nats.MaxReconnects(-1))
	}
	if err != nil {
		s.shutdownServer()
		return nil, fmt.Errorf("stream: connect: %w", err)
	}
	s.js, err = jetstream.New(s.nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("stream: jetstream: %w", err)
	}
	s.st, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamName,
		Description: "tubelake records (video/channel snapshots, events)",
		Subjects:    []string{subjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      cfg.MaxAge,
		Duplicates:  cfg.DedupeWindow,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("stream: create stream %s: %w", StreamName, err)
	}
	s.dlq, err = s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        DLQStreamName,
		Description: "tubelake records a sink could not decode",
		Subjects:    []string{dlqPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("stream: create stream %s: %w", DLQStreamName, err)
	}
	return s, nil
}

// Engine is "embedded" or "nats".
func (s *NATS) Engine() string {
	if s.ns != nil {
		return "embedded"
	}
	return "nats"
}

func splitHostPort(hp string) (string, int, error) {
	i := strings.LastIndexByte(hp, ':')
	if i < 0 {
		return "", 0, errors.New("want host:port")
	}
	var port int
	if _, err := fmt.Sscanf(hp[i+1:], "%d", &port); err != nil {
		return "", 0, fmt.Errorf("bad port: %w", err)
	}
	return hp[:i], port, nil
}

// ClientURL returns the URL other processes can use to reach this stream, or
// "" when the embedded server does not listen.
func (s *NATS) ClientURL() string {
	if s.ns != nil {
		if s.cfg.Listen == "" {
			return ""
		}
		return s.ns.ClientURL()
	}
	return s.nc.ConnectedUrlRedacted()
}

// Publish stores records on the stream and returns once every one of them is
// acknowledged by JetStream (or was a duplicate of one already stored).
func (s *NATS) Publish(ctx context.Context, recs ...yt.Record) error {
	if len(recs) == 0 {
		return nil
	}
	// Publish asynchronously in windows smaller than the client's limit of
	// outstanding acks, so concurrent publishers never stall it.
	for lo := 0; lo < len(recs); lo += publishWindow {
		if err := s.publishWindow(ctx, recs[lo:min(lo+publishWindow, len(recs))]); err != nil {
			return err
		}
	}
	return nil
}

// publishWindow is the records published before waiting for their acks.
const publishWindow = 4096

func (s *NATS) publishWindow(ctx context.Context, recs []yt.Record) error {
	per := max(s.cfg.RecordsPerMessage, 1)
	type pending struct {
		f      jetstream.PubAckFuture
		subj   string
		id     string
		data   []byte
		lo, hi int
	}
	futures := make([]pending, 0, len(recs)/per+1)
	for lo := 0; lo < len(recs); lo += per {
		hi := min(lo+per, len(recs))
		for i := lo; i < hi; i++ {
			if err := recs[i].Validate(); err != nil {
				return fmt.Errorf("stream: publish: %w", err)
			}
		}
		p := pending{lo: lo, hi: hi}
		var err error
		if hi-lo == 1 {
			r := &recs[lo]
			p.subj, p.id = subjectPrefix+string(r.Kind), r.ID
			p.data, err = encodeRecord(r)
		} else {
			p.subj, p.id = subjectPrefix+"batch", batchMsgID(recs[lo:hi])
			p.data, err = encodeBatch(recs[lo:hi])
		}
		if err != nil {
			return fmt.Errorf("stream: encode %s: %w", recs[lo].ID, err)
		}
		p.f, err = s.js.PublishAsync(p.subj, p.data, jetstream.WithMsgID(p.id))
		if err != nil {
			return fmt.Errorf("stream: publish %s: %w", recs[lo].ID, err)
		}
		futures = append(futures, p)
	}
	for _, p := range futures {
		select {
		case <-p.f.Ok():
		case err := <-p.f.Err():
			// One retry path: a timed-out async publish is re-sent synchronously;
			// the msg id makes it idempotent.
			if _, err2 := s.js.Publish(ctx, p.subj, p.data, jetstream.WithMsgID(p.id)); err2 != nil {
				return fmt.Errorf("stream: publish %s: %w (after %v)", recs[p.lo].ID, err2, err)
			}
		case <-ctx.Done():
			return fmt.Errorf("stream: publish: %w", ctx.Err())
		}
	}
	return nil
}

// batchMsgID is the dedupe id of a multi-record message: a digest of its
// record ids in order.
func batchMsgID(recs []yt.Record) string {
	h := sha256.New()
	for i := range recs {
		h.Write([]byte(recs[i].ID))
		h.Write([]byte{'\n'})
	}
	return "batch:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Batch is what a sink receives: decoded records and the stream sequence
// range they came from.
type Batch struct {
	Records  []yt.Record
	FirstSeq uint64
	LastSeq  uint64
}

// Handler makes a batch durable in a sink. Returning an error makes Consume
// retry the same batch after a backoff.
type Handler func(ctx context.Context, b Batch) error

// ConsumeOptions tunes a sink's consumer.
type ConsumeOptions struct {
	// BatchSize is the max records per handler call (default 1000).
	BatchSize int
	// MaxWait is how long a fetch waits to fill a batch (default 500 ms):
	// it bounds the delay between publish and visibility in the sink.
	MaxWait time.Duration
	// StartAfter, when the sink keeps its own checkpoint, is the last
	// sequence the sink has durably applied (0 = sink is empty).
	StartAfter *uint64
	// OnDLQ is called for every record routed to the dead-letter queue.
	OnDLQ func(seq uint64, err error)
}

// Consume runs a durable consumer named name until ctx is done. It returns
// nil on cancellation.
func (s *NATS) Consume(ctx context.Context, name string, opt ConsumeOptions, h Handler) error {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 500 * time.Millisecond
	}
	cons, err := s.durable(ctx, name, opt.StartAfter, opt.BatchSize)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped before the consumer existed: nothing was delivered
		}
		return err
	}
	log := s.log.With("consumer", name)
	for {
		if ctx.Err() != nil {
			return nil
		}
		mb, err := cons.Fetch(max(opt.BatchSize/max(s.cfg.RecordsPerMessage, 1), 1), jetstream.FetchMaxWait(opt.MaxWait))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("fetch failed; retrying", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		var (
			b    Batch
			last jetstream.Msg
		)
		for m := range mb.Messages() {
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("stream: metadata: %w", err)
			}
			seq := md.Sequence.Stream
			if b.FirstSeq == 0 {
				b.FirstSeq = seq
			}
			b.LastSeq, last = seq, m
			dec := decodeMessage(m.Data())
			for i, d := range dec {
				if d.err != nil {
					if derr := s.deadLetter(ctx, name, m, d.raw, seq, i, len(dec), d.err); derr != nil {
						return derr
					}
					log.Error("undecodable record sent to dead-letter queue", "seq", seq, "err", d.err)
					if opt.OnDLQ != nil {
						opt.OnDLQ(seq, d.err)
					}
					continue
				}
				b.Records = append(b.Records, d.rec)
			}
		}
		if err := mb.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			log.Debug("fetch ended", "err", err)
		}
		if last == nil {
			continue
		}
		for attempt := 0; ; attempt++ {
			if len(b.Records) == 0 {
				break
			}
			err := h(ctx, b)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil // not acked: redelivered on restart
			}
			d := backoff(attempt)
			log.Error("sink failed; retrying the same batch", "first", b.FirstSeq, "last", b.LastSeq, "err", err, "retry_in", d)
			// Keep the batch from being redelivered to nobody while we wait.
			_ = last.InProgress()
			sleep(ctx, d)
		}
		// The batch is durable in the sink: acknowledge it even when we are
		// shutting down, so a clean stop never causes a replay.
		actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = last.DoubleAck(actx)
		acancel()
		if err != nil {
			log.Warn("ack failed; the batch will be redelivered (sinks are idempotent)", "err", err)
		}
	}
}

func (s *NATS) durable(ctx context.Context, name string, startAfter *uint64, batch int) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       name,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       2 * time.Minute,
		MaxAckPending: 4 * batch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: subjectPrefix + ">",
	}
	// With AckAll, acknowledging a sequence acknowledges every earlier one.
	// A durable that delivered messages the sink never made durable (the
	// process died mid-batch) would, after a restart, deliver what follows
	// them and its first ack would silently acknowledge them: lost. So a
	// durable is reused only when nothing is in flight (delivered == ack
	// floor == the sink's checkpoint, if it keeps one); otherwise it is
	// re-created to start right after the last durable sequence.
	existing, err := s.st.Consumer(ctx, name)
	switch {
	case err == nil:
		info, err := existing.Info(ctx)
		if err != nil {
			return nil, fmt.Errorf("stream: consumer %s info: %w", name, err)
		}
		floor := info.AckFloor.Stream
		if startAfter != nil {
			floor = *startAfter
		}
		if info.AckFloor.Stream == floor && info.Delivered.Stream == floor {
			return existing, nil
		}
		s.log.Info("re-positioning consumer after its last durable sequence", "consumer", name,
			"ack_floor", info.AckFloor.Stream, "delivered", info.Delivered.Stream, "resume_after", floor)
		if err := s.st.DeleteConsumer(ctx, name); err != nil {
			return nil, fmt.Errorf("stream: reset consumer %s: %w", name, err)
		}
		startAfter = &floor
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, fmt.Errorf("stream: consumer %s: %w", name, err)
	}
	if startAfter != nil && *startAfter > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = *startAfter + 1
	}
	c, err := s.st.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("stream: consumer %s: %w", name, err)
	}
	return c, nil
}

func (s *NATS) deadLetter(ctx context.Context, consumer string, m jetstream.Msg, data []byte, seq uint64, idx, of int, cause error) error {
	msg := nats.NewMsg(dlqPrefix + consumer)
	msg.Data = data
	msg.Header.Set("Tubelake-Error", cause.Error())
	msg.Header.Set("Tubelake-Seq", fmt.Sprint(seq))
	msg.Header.Set("Tubelake-Subject", m.Subject())
	dedupe := fmt.Sprintf("%s-%d", consumer, seq)
	if of > 1 {
		msg.Header.Set("Tubelake-Index", fmt.Sprint(idx))
		dedupe += fmt.Sprintf("-%d", idx)
	}
	msg.Header.Set(jetstream.MsgIDHeader, dedupe)
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("stream: dead-letter seq %d: %w", seq, err)
	}
	return nil
}

// Info summarizes the stream and the lag of every consumer.
type Info struct {
	Messages  uint64            `json:"messages"`
	Bytes     uint64            `json:"bytes"`
	LastSeq   uint64            `json:"last_seq"`
	DLQ       uint64            `json:"dead_letters"`
	Consumers map[string]uint64 `json:"consumer_lag"` // pending messages per consumer
	// Incarnation identifies this instance of the stream: it changes when
	// the stream is deleted and created again (sequences restart), so a
	// sink's checkpoint can tell it refers to another stream. JetStream: the
	// stream's creation time; Kafka: the topic id.
	Incarnation string `json:"incarnation"`
}

// Info reports stream size and consumer lag.
func (s *NATS) Info(ctx context.Context) (Info, error) {
	si, err := s.st.Info(ctx)
	if err != nil {
		return Info{}, fmt.Errorf("stream: info: %w", err)
	}
	out := Info{Messages: si.State.Msgs, Bytes: si.State.Bytes, LastSeq: si.State.LastSeq, Consumers: map[string]uint64{},
		Incarnation: si.Created.UTC().Format(time.RFC3339Nano)}
	if di, err := s.dlq.Info(ctx); err == nil {
		out.DLQ = di.State.Msgs
	}
	names := s.st.ConsumerNames(ctx)
	for n := range names.Name() {
		c, err := s.st.Consumer(ctx, n)
		if err != nil {
			continue
		}
		ci, err := c.Info(ctx)
		if err != nil {
			continue
		}
		out.Consumers[n] = ci.NumPending + uint64(ci.NumAckPending)
	}
	return out, nil
}

// Close drains the connection and stops the embedded server.
func (s *NATS) Close() error {
	if s.nc != nil {
		_ = s.nc.Drain()
		s.nc.Close()
	}
	s.shutdownServer()
	return nil
}

func (s *NATS) shutdownServer() {
	if s.ns != nil {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	}
}

func backoff(attempt int) time.Duration {
	d := 200 * time.Millisecond << min(attempt, 7)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// DeleteConsumer removes a durable consumer (operations, tests); its sink
// resumes from its own checkpoint, or from the start of the stream.
func (s *NATS) DeleteConsumer(ctx context.Context, name string) error {
	if err := s.st.DeleteConsumer(ctx, name); err != nil {
		return fmt.Errorf("stream: delete consumer %s: %w", name, err)
	}
	return nil
}
