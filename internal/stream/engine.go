package stream

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/tubelake/tubelake/internal/yt"
)

// Stream is what producers and sinks need from a stream engine. Open picks
// the implementation from Config.URL: the embedded JetStream (""), an
// external NATS cluster (nats://...) or Kafka (kafka://...).
type Stream interface {
	// Publish returns once the engine stored every record durably.
	Publish(ctx context.Context, recs ...yt.Record) error
	// Consume runs the durable consumer name until ctx is done (nil on
	// cancellation), acknowledging a batch only after h returned nil.
	Consume(ctx context.Context, name string, opt ConsumeOptions, h Handler) error
	// Info reports size, last sequence and per-consumer lag.
	Info(ctx context.Context) (Info, error)
	// ClientURL is the URL other processes can use to reach this stream
	// ("" when the embedded engine does not listen).
	ClientURL() string
	// Engine names the implementation: "embedded", "nats" or "kafka".
	Engine() string
	Close() error
}

// Open connects to the engine Config.URL names.
//
//	""  or "embedded"              embedded JetStream under Config.Dir
//	nats://h1:4222,h2:4222[?replicas=3]   external NATS (JetStream) cluster
//	kafka://h1:9092,h2:9092[?topic=t]      Kafka (or any Kafka-protocol broker)
func Open(ctx context.Context, cfg Config) (Stream, error) {
	raw := strings.TrimSpace(cfg.URL)
	switch {
	case raw == "" || raw == "embedded":
		cfg.URL = ""
		return OpenNATS(ctx, cfg)
	case strings.HasPrefix(raw, "kafka://"):
		return OpenKafka(ctx, cfg)
	case strings.HasPrefix(raw, "nats://") || strings.HasPrefix(raw, "tls://"):
		base, q, err := splitQuery(raw)
		if err != nil {
			return nil, err
		}
		if r := q.Get("replicas"); r != "" {
			n, err := strconv.Atoi(r)
			if err != nil || n < 1 || n > 5 {
				return nil, fmt.Errorf("stream: replicas=%q: want 1..5", r)
			}
			cfg.Replicas = n
		}
		cfg.URL = base
		return OpenNATS(ctx, cfg)
	default:
		return nil, fmt.Errorf("stream: unsupported stream URL %q: want \"\" (embedded), nats://host:port[,host:port...] or kafka://host:port[,host:port...]", redact(raw))
	}
}

// splitQuery separates "scheme://hosts?k=v" into the hosts part and the query.
func splitQuery(raw string) (string, url.Values, error) {
	base, query, _ := strings.Cut(raw, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", nil, fmt.Errorf("stream: bad url query: %w", err)
	}
	return base, q, nil
}

// redact hides user info in a stream URL for error messages.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = "xxxxx@" + rest[at+1:]
	}
	return scheme + "://" + rest
}
