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
	// message (see codec.go): far less broker work per record. On
	// JetStream the message's Nats-Msg-Id is a digest of its record ids, so
	// the server's dedupe drops a re-publish of the same batch only; the
	// sinks' record-id idempotence handles the rest. JetStream consumers
	// fetch BatchSize/RecordsPerMessage messages at a time. Kafka packs the
	// same way (key = the digest; it has no dedupe either way).
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
	window := max(publishWindow, 64*s.cfg.RecordsPerMessage)
	for lo := 0; lo < len(recs); lo += window {
		if err := s.publishWindow(ctx, recs[lo:min(lo+window, len(recs))]); err != nil {
			return err
		}
	}
	return nil
}

// publishWindow is the records published before waiting for their acks
// (at least 64 multi-record messages).
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
	sc := encodeScratch.Get().(*encodeBufs) // one buffer, no per-id conversion
	defer encodeScratch.Put(sc)
	b := sc.body[:0]
	for i := range recs {
		b = append(b, recs[i].ID...)
		b = append(b, '\n')
	}
	sc.body = b[:0]
	sum := sha256.Sum256(b)
	return "batch:" + hex.EncodeToString(sum[:16])
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
	// Transient says the handler keeps nothing of a batch's records once
	// it returned (the lake: rows are copied into Parquet pages). Records
	// of binary batch messages are then decoded with a few allocations per
	// message (strings share one copy of the message) instead of several
	// per record. A handler that keeps strings or pointers (the index's
	// maps) must leave it false, or it would pin whole messages.
	Transient bool
	// InFlight > 1 lets up to that many consecutive batches be in the
	// handler at once (the handler must be safe for concurrent use); the
	// default 1 hands over one batch at a time. Acknowledgements (and
	// Commit) stay in stream order either way.
	InFlight int
	// Commit, if set, runs after the handler succeeded for a batch, for one
	// batch at a time in stream order (after the previous batch's Commit);
	// the batch is acknowledged after it returned nil, and it is retried
	// like the handler. A sink that keeps its own checkpoint writes it
	// here, so with InFlight > 1 the checkpoint still only moves forward
	// over batches that are all durable.
	Commit Handler
}

// decode decodes one stream message into recs, sending each undecodable
// record to the dead-letter queue (deadLetter), logging it and calling
// OnDLQ. It stops dead-lettering at the first deadLetter error and returns it.
func (opt ConsumeOptions) decode(recs []yt.Record, data []byte, seq uint64, log *slog.Logger, deadLetter func(raw []byte, i, of int, cause error) error) ([]yt.Record, error) {
	var derr error
	recs = decodeMessageInto(recs, data, opt.Transient, func(raw []byte, i, of int, cause error) {
		if derr != nil {
			return
		}
		if derr = deadLetter(raw, i, of, cause); derr != nil {
			return
		}
		log.Error("undecodable record sent to dead-letter queue", "seq", seq, "err", cause)
		if opt.OnDLQ != nil {
			opt.OnDLQ(seq, cause)
		}
	})
	return recs, derr
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
	per := max(s.cfg.RecordsPerMessage, 1)
	fetch := func(ctx context.Context) (fetched, error) {
		mb, err := cons.Fetch(max(opt.BatchSize/per, 1), jetstream.FetchMaxWait(opt.MaxWait))
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("fetch failed; retrying", "err", err)
				sleep(ctx, time.Second)
			}
			return fetched{}, nil
		}
		var (
			f    fetched
			msgs []jetstream.Msg
		)
		for m := range mb.Messages() {
			md, err := m.Metadata()
			if err != nil {
				return f, fmt.Errorf("stream: metadata: %w", err)
			}
			seq := md.Sequence.Stream
			if f.b.FirstSeq == 0 {
				f.b.FirstSeq = seq
			}
			f.b.LastSeq = seq
			msgs = append(msgs, m)
			if f.b.Records == nil {
				f.b.Records = make([]yt.Record, 0, opt.BatchSize)
			}
			var derr error
			f.b.Records, derr = opt.decode(f.b.Records, m.Data(), seq, log, func(raw []byte, i, of int, cause error) error {
				return s.deadLetter(ctx, name, m, raw, seq, i, of, cause)
			})
			if derr != nil {
				return f, derr
			}
		}
		if err := mb.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			log.Debug("fetch ended", "err", err)
		}
		if len(msgs) == 0 {
			return f, nil
		}
		f.ok = true
		// Keep every message of the batch from being redelivered while it
		// waits (prefetched) or its sink retries.
		f.inProgress = func() {
			for _, m := range msgs {
				_ = m.InProgress()
			}
		}
		last := msgs[len(msgs)-1]
		f.ack = func(ctx context.Context) error { return last.DoubleAck(ctx) }
		return f, nil
	}
	return consumePipelined(ctx, log, opt, fetch, h)
}

// fetched is one decoded batch and how to acknowledge it.
type fetched struct {
	b          Batch
	ok         bool // false: nothing was fetched
	inProgress func()
	ack        func(ctx context.Context) error
}

// prefetchKeepAlive is how often a batch waiting for the sink is marked in
// progress (well under the consumers' 2-minute ack wait).
const prefetchKeepAlive = 20 * time.Second

// consumePipelined runs the engine-independent part of Consume: one
// goroutine fetches and decodes the next batch while the sink's handler
// works on the current one(s) (they overlap on separate cores). Up to
// opt.InFlight consecutive batches are handed to h concurrently; whatever
// their handlers' timing, opt.Commit runs and batches are acknowledged
// strictly in stream order, each only after its handler and its Commit
// (and every earlier batch's) returned nil. Delivery therefore stays
// at-least-once and a crash redelivers exactly what was not acknowledged
// (prefetched or in-flight batches never were). In memory: the batches in
// flight plus the next one, decoded. fetch returns a non-nil error only for
// fatal problems (it logs and retries transient ones itself).
func consumePipelined(ctx context.Context, log *slog.Logger, opt ConsumeOptions, fetch func(context.Context) (fetched, error), h Handler) error {
	inFlight := max(opt.InFlight, 1)
	fctx, cancel := context.WithCancel(ctx)
	next := make(chan fetched) // unbuffered: prefetch exactly one batch
	fatal := make(chan error, 1)
	fetcherDone := make(chan struct{})
	go func() {
		defer close(fetcherDone)
		for fctx.Err() == nil {
			f, err := fetch(fctx)
			if err != nil {
				if fctx.Err() == nil {
					fatal <- err
				}
				return
			}
			if !f.ok {
				continue
			}
			if !handOver(fctx, next, f) {
				return
			}
		}
	}()
	type running struct {
		f    fetched
		done chan bool // true: handled; false: stopped by ctx
	}
	var (
		handlers sync.WaitGroup
		pending  []*running // in stream order
	)
	defer func() {
		cancel()
		<-fetcherDone
		handlers.Wait()
	}()
	// stop is a clean stop: handlers see ctx and return; every batch whose
	// handler had succeeded is still committed and acknowledged (in
	// order), so stopping never causes a replay of finished work.
	stop := func() error {
		handlers.Wait()
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer scancel()
		for _, r := range pending {
			if !<-r.done || !commitAndAck(sctx, log, opt, r.f, false) {
				break
			}
		}
		return nil
	}
	keepAlive := time.NewTicker(prefetchKeepAlive)
	defer keepAlive.Stop()
	for {
		if ctx.Err() != nil {
			return stop()
		}
		var (
			take     <-chan fetched
			headDone <-chan bool
		)
		if len(pending) < inFlight {
			take = next
		}
		if len(pending) > 0 {
			headDone = pending[0].done
		}
		select {
		case <-ctx.Done():
			return stop()
		case err := <-fatal:
			return err
		case <-keepAlive.C:
			// Batches in flight (handled, or waiting for an earlier one) must
			// not hit the ack deadline and be redelivered meanwhile.
			for _, r := range pending {
				if r.f.inProgress != nil {
					r.f.inProgress()
				}
			}
		case f := <-take:
			r := &running{f: f, done: make(chan bool, 1)}
			pending = append(pending, r)
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				r.done <- handle(fctx, log, h, r.f) // fctx: stopped when Consume returns
			}()
		case ok := <-headDone:
			r := pending[0]
			if !ok || ctx.Err() != nil {
				r.done <- ok // put it back for stop
				return stop()
			}
			pending = pending[1:]
			if !commitAndAck(ctx, log, opt, r.f, true) {
				return nil // stopped while retrying the commit: not acked, replayed
			}
		}
	}
}

// commitAndAck runs opt.Commit (retried until ctx ends when retryCommit)
// and acknowledges the batch; false if the commit did not succeed.
func commitAndAck(ctx context.Context, log *slog.Logger, opt ConsumeOptions, f fetched, retryCommit bool) bool {
	if opt.Commit != nil {
		commit := func() error { return opt.Commit(ctx, f.b) }
		if retryCommit {
			if !retry(ctx, log, "sink commit failed; retrying", f, commit) {
				return false
			}
		} else if err := commit(); err != nil {
			log.Warn("sink commit failed while stopping; the batch will be redelivered", "first", f.b.FirstSeq, "last", f.b.LastSeq, "err", err)
			return false
		}
	}
	// The batch is durable in the sink: acknowledge it even when we are
	// shutting down, so a clean stop never causes a replay.
	actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	err := f.ack(actx)
	acancel()
	if err != nil {
		log.Warn("ack failed; the batch will be redelivered (sinks are idempotent)", "err", err)
	}
	return true
}

// handle runs h on f's batch until it succeeds (true) or ctx ends (false).
// A batch whose records were all dead-lettered needs no handler.
func handle(ctx context.Context, log *slog.Logger, h Handler, f fetched) bool {
	if len(f.b.Records) == 0 {
		return true
	}
	return retry(ctx, log, "sink failed; retrying the same batch", f, func() error { return h(ctx, f.b) })
}

// retry runs op until it returns nil (true) or ctx ends (false), backing
// off between attempts and keeping f's messages from being redelivered.
func retry(ctx context.Context, log *slog.Logger, msg string, f fetched, op func() error) bool {
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		d := backoff(attempt)
		log.Error(msg, "first", f.b.FirstSeq, "last", f.b.LastSeq, "err", err, "retry_in", d)
		if f.inProgress != nil {
			f.inProgress()
		}
		sleep(ctx, d)
	}
}

// handOver sends f to the handler's loop, marking its messages in progress
// while it waits; false when ctx ended first.
func handOver(ctx context.Context, next chan<- fetched, f fetched) bool {
	t := time.NewTicker(prefetchKeepAlive)
	defer t.Stop()
	for {
		select {
		case next <- f:
			return true
		case <-t.C:
			if f.inProgress != nil {
				f.inProgress()
			}
		case <-ctx.Done():
			return false
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
	msg.Header.Set("Tubelake-Format", dlqFormat(m.Data(), data))
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

// dlqFormat says what a dead letter's data is: the whole message, or one
// record of a batch message (JSON or binary, see codec.go).
func dlqFormat(msg, data []byte) string {
	switch {
	case len(data) == len(msg):
		return "message"
	case len(msg) > 0 && (msg[0] == binBatchVersion || msg[0] == s2BatchVersion):
		return "binary-record-v2"
	default:
		return "json-record"
	}
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
