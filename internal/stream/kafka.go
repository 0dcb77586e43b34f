package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tubelake/tubelake/internal/yt"
)

// Kafka is the Kafka engine (franz-go). Records go to one topic (default
// "tubelake") with a single partition: tubelake's sinks checkpoint one
// sequence number per consumer, and a single partition keeps the stream
// totally ordered, so a sequence is simply offset+1. Kafka has no
// server-side dedupe by message id: the producer is idempotent (no
// duplicates from its own retries) and a re-published record (a new produce
// of the same Record.ID) is stored twice; the sinks are idempotent by
// record id (lake views dedupe by record_id, compaction drops the copies;
// the index keeps the newest fetchedAt). Consumer positions are committed
// offsets of the group "tubelake-<consumer>", committed only after the
// handler succeeded.
type Kafka struct {
	cfg      Config
	log      *slog.Logger
	seeds    []string
	topic    string
	dlqTopic string
	url      string
	cl       *kgo.Client
	adm      *kadm.Client

	mu    sync.Mutex
	names map[string]bool // consumers run by this process (for Info)
}

// OpenKafka connects to the brokers of a kafka://host:port[,host:port...]
// URL (query: topic=NAME) and makes sure the topics exist.
func OpenKafka(ctx context.Context, cfg Config) (*Kafka, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	base, q, err := splitQuery(strings.TrimSpace(cfg.URL))
	if err != nil {
		return nil, err
	}
	hosts := strings.TrimPrefix(base, "kafka://")
	if strings.Contains(hosts, "@") {
		return nil, errors.New("stream: kafka URL with credentials is not supported (SASL is not implemented); use kafka://host:port")
	}
	var seeds []string
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			if _, _, err := splitHostPort(h); err != nil {
				return nil, fmt.Errorf("stream: kafka broker %q: %w", h, err)
			}
			seeds = append(seeds, h)
		}
	}
	if len(seeds) == 0 {
		return nil, errors.New("stream: kafka URL names no broker (want kafka://host:port[,host:port...])")
	}
	k := &Kafka{cfg: cfg, log: cfg.Logger, seeds: seeds, topic: "tubelake", url: base, names: map[string]bool{}}
	if t := q.Get("topic"); t != "" {
		k.topic = t
	}
	k.dlqTopic = k.topic + ".dlq"
	k.cl, err = kgo.NewClient(
		kgo.SeedBrokers(seeds...),
		kgo.ClientID("tubelake"),
		kgo.RequiredAcks(kgo.AllISRAcks()), // with the default idempotent producer
		kgo.ProducerBatchMaxBytes(4<<20),
		kgo.MaxBufferedRecords(1<<16),
		kgo.ProducerLinger(2*time.Millisecond),
	)
	if err != nil {
		return nil, fmt.Errorf("stream: kafka client: %w", err)
	}
	k.adm = kadm.NewClient(k.cl)
	rf := int16(-1) // broker default
	if cfg.Replicas > 0 {
		rf = int16(cfg.Replicas)
	}
	if r := q.Get("replicas"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 1 {
			k.Close()
			return nil, fmt.Errorf("stream: replicas=%q: want a positive number", r)
		}
		rf = int16(n)
	}
	retention := strconv.FormatInt(cfg.MaxAge.Milliseconds(), 10)
	for _, t := range []string{k.topic, k.dlqTopic} {
		configs := map[string]*string{}
		if t == k.topic {
			configs["retention.ms"] = &retention
		} else {
			forever := "-1"
			configs["retention.ms"] = &forever
		}
		_, err := k.adm.CreateTopic(ctx, 1, rf, configs, t)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			k.Close()
			return nil, fmt.Errorf("stream: create kafka topic %s: %w", t, err)
		}
	}
	end, err := k.adm.ListEndOffsets(ctx, k.topic)
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("stream: kafka topic %s: %w", k.topic, err)
	}
	if n := len(end[k.topic]); n != 1 {
		k.Close()
		return nil, fmt.Errorf("stream: kafka topic %s has %d partitions; tubelake needs exactly 1 (one ordered sequence per consumer checkpoint)", k.topic, n)
	}
	return k, nil
}

// Engine is "kafka".
func (k *Kafka) Engine() string { return "kafka" }

// ClientURL is the kafka:// URL this stream was opened with.
func (k *Kafka) ClientURL() string { return k.url }

// Publish produces recs (key = Record.ID; with Config.RecordsPerMessage > 1
// packed into multi-record messages keyed by the digest of their ids) and
// returns once every one is acknowledged by all in-sync replicas.
func (k *Kafka) Publish(ctx context.Context, recs ...yt.Record) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		if err := recs[i].Validate(); err != nil {
			return fmt.Errorf("stream: publish: %w", err)
		}
	}
	per := max(k.cfg.RecordsPerMessage, 1)
	out := make([]*kgo.Record, 0, (len(recs)+per-1)/per)
	for lo := 0; lo < len(recs); lo += per {
		hi := min(lo+per, len(recs))
		if hi-lo > 1 {
			// A multi-record message (codec.go), keyed by the digest of its
			// record ids (one partition: the key only labels it).
			b, err := encodeBatch(recs[lo:hi])
			if err != nil {
				return fmt.Errorf("stream: encode %s: %w", recs[lo].ID, err)
			}
			out = append(out, &kgo.Record{Topic: k.topic, Key: []byte(batchMsgID(recs[lo:hi])), Value: b,
				Headers: []kgo.RecordHeader{{Key: "tubelake-kind", Value: []byte("batch")}}})
			continue
		}
		r := &recs[lo]
		b, err := encodeRecord(r)
		if err != nil {
			return fmt.Errorf("stream: encode %s: %w", r.ID, err)
		}
		out = append(out, &kgo.Record{Topic: k.topic, Key: []byte(r.ID), Value: b,
			Headers: []kgo.RecordHeader{{Key: "tubelake-kind", Value: []byte(r.Kind)}}})
	}
	if err := k.cl.ProduceSync(ctx, out...).FirstErr(); err != nil {
		return fmt.Errorf("stream: kafka produce: %w", err)
	}
	return nil
}

func (k *Kafka) group(name string) string { return "tubelake-" + name }

// committed returns the group's committed next offset, or -1.
func (k *Kafka) committed(ctx context.Context, name string) (int64, error) {
	resp, err := k.adm.FetchOffsets(ctx, k.group(name))
	if err != nil {
		if errors.Is(err, kerr.GroupIDNotFound) {
			return -1, nil
		}
		return 0, fmt.Errorf("stream: kafka fetch offsets %s: %w", name, err)
	}
	o, ok := resp.Lookup(k.topic, 0)
	if !ok || o.Err != nil || o.At < 0 {
		return -1, nil
	}
	return o.At, nil
}

func (k *Kafka) commit(ctx context.Context, name string, next int64) error {
	var os kadm.Offsets
	os.AddOffset(k.topic, 0, next, -1)
	return k.adm.CommitAllOffsets(ctx, k.group(name), os)
}

// Consume reads the topic from the consumer's committed offset (or right
// after opt.StartAfter) and commits a batch's next offset only after h
// succeeded.
func (k *Kafka) Consume(ctx context.Context, name string, opt ConsumeOptions, h Handler) error {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 500 * time.Millisecond
	}
	k.mu.Lock()
	k.names[name] = true
	k.mu.Unlock()
	log := k.log.With("consumer", name)
	next, err := k.committed(ctx, name)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if opt.StartAfter != nil && int64(*opt.StartAfter) != next {
		log.Info("re-positioning consumer at sink checkpoint", "committed", next, "checkpoint", *opt.StartAfter)
		next = int64(*opt.StartAfter)
	}
	if next < 0 {
		next = 0
	}
	cons, err := kgo.NewClient(
		kgo.SeedBrokers(k.seeds...),
		kgo.ClientID("tubelake-"+name),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{k.topic: {0: kgo.NewOffset().At(next)}}),
		kgo.FetchMaxWait(opt.MaxWait),
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(32<<20),
	)
	if err != nil {
		return fmt.Errorf("stream: kafka consumer %s: %w", name, err)
	}
	defer cons.Close()
	maxMsgs := max(opt.BatchSize/max(k.cfg.RecordsPerMessage, 1), 1) // BatchSize counts records
	fetch := func(ctx context.Context) (fetched, error) {
		var msgs []*kgo.Record
		deadline := time.Now().Add(opt.MaxWait)
		for len(msgs) < maxMsgs {
			wait := time.Until(deadline)
			if wait <= 0 {
				break
			}
			pctx, cancel := context.WithTimeout(ctx, wait)
			fs := cons.PollRecords(pctx, maxMsgs-len(msgs))
			cancel()
			if ctx.Err() != nil {
				return fetched{}, nil
			}
			fs.EachError(func(t string, p int32, err error) {
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					log.Warn("kafka fetch failed; retrying", "err", err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) { msgs = append(msgs, r) })
		}
		if len(msgs) == 0 {
			return fetched{}, nil
		}
		f := fetched{ok: true}
		f.b = Batch{FirstSeq: uint64(msgs[0].Offset) + 1, LastSeq: uint64(msgs[len(msgs)-1].Offset) + 1}
		f.b.Records = make([]yt.Record, 0, len(msgs))
		for _, m := range msgs {
			seq := uint64(m.Offset) + 1
			var derr error
			f.b.Records, derr = opt.decode(f.b.Records, m.Value, seq, log, func(raw []byte, _, _ int, cause error) error {
				return k.deadLetter(ctx, name, m, raw, seq, cause)
			})
			if derr != nil {
				return f, derr
			}
		}
		// Offsets are committed only after the handler succeeded; Kafka has
		// no per-message ack deadline to extend.
		f.ack = func(ctx context.Context) error { return k.commit(ctx, name, int64(f.b.LastSeq)) }
		return f, nil
	}
	return consumePipelined(ctx, log, opt, fetch, h)
}

func (k *Kafka) deadLetter(ctx context.Context, consumer string, m *kgo.Record, data []byte, seq uint64, cause error) error {
	r := &kgo.Record{Topic: k.dlqTopic, Key: m.Key, Value: data, Headers: []kgo.RecordHeader{
		{Key: "tubelake-error", Value: []byte(cause.Error())},
		{Key: "tubelake-seq", Value: []byte(strconv.FormatUint(seq, 10))},
		{Key: "tubelake-consumer", Value: []byte(consumer)},
		{Key: "tubelake-format", Value: []byte(dlqFormat(m.Value, data))},
	}}
	if err := k.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("stream: dead-letter seq %d: %w", seq, err)
	}
	return nil
}

// Info reports the topic's size and the lag of every tubelake consumer
// group this process ran or the cluster lists.
func (k *Kafka) Info(ctx context.Context) (Info, error) {
	end, err := k.adm.ListEndOffsets(ctx, k.topic, k.dlqTopic)
	if err != nil {
		return Info{}, fmt.Errorf("stream: kafka info: %w", err)
	}
	start, err := k.adm.ListStartOffsets(ctx, k.topic)
	if err != nil {
		return Info{}, fmt.Errorf("stream: kafka info: %w", err)
	}
	e, _ := end.Lookup(k.topic, 0)
	s, _ := start.Lookup(k.topic, 0)
	d, _ := end.Lookup(k.dlqTopic, 0)
	out := Info{LastSeq: uint64(max(e.Offset, 0)), Messages: uint64(max(e.Offset-s.Offset, 0)), DLQ: uint64(max(d.Offset, 0)), Consumers: map[string]uint64{}}
	if td, err := k.adm.ListTopics(ctx, k.topic); err == nil {
		if d, ok := td[k.topic]; ok && d.ID != (kadm.TopicID{}) {
			out.Incarnation = d.ID.String()
		}
	}
	names := map[string]bool{}
	k.mu.Lock()
	for n := range k.names {
		names[n] = true
	}
	k.mu.Unlock()
	if groups, err := k.adm.ListGroups(ctx); err == nil {
		for _, g := range groups.Groups() {
			if n, ok := strings.CutPrefix(g, "tubelake-"); ok {
				names[n] = true
			}
		}
	}
	for n := range names {
		c, err := k.committed(ctx, n)
		if err != nil {
			continue
		}
		if c < s.Offset {
			c = s.Offset
		}
		out.Consumers[n] = uint64(max(e.Offset-c, 0))
	}
	return out, nil
}

// Close flushes and closes the client.
func (k *Kafka) Close() error {
	if k.cl != nil {
		k.cl.Close()
	}
	return nil
}
