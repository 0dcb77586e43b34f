// Package stream carries yt.Records from producers (collector, importer) to
// the sinks (lake, index) with at-least-once delivery.
//
// Stream is the interface producers and sinks use; Open picks one of three
// engines from Config.URL (the --stream flag):
//
//   - "" (default): a NATS JetStream server embedded in the tubelake process
//     (file storage under <data>/stream).
//   - nats://h1:4222,h2:4222[?replicas=3]: an external NATS cluster with
//     JetStream (stream TUBELAKE with R replicas). Tested against a 3-node
//     JetStream cluster with R3 started in-process on loopback ports.
//   - kafka://h1:9092,h2:9092[?topic=tubelake&replicas=3]: Kafka through
//     franz-go (idempotent producer, acks=all). The topic has one partition:
//     sinks checkpoint one sequence (offset+1) per consumer, and one partition
//     keeps it totally ordered. Tested against franz-go's in-process kfake
//     cluster (3 brokers). Consumer positions are offsets committed to the
//     group tubelake-<consumer> after the handler succeeded.
//
// Every engine passes the same contract test (TestContract): publish, two
// sinks, retries of a failed batch, restart, an in-flight batch redelivered
// after a crash, StartAfter replay, dead letters.
//
// A single record travels as its JSON envelope (goccy/go-json, byte-for-byte
// what encoding/json reads), so any client can read such a message. With
// Config.RecordsPerMessage > 1 (bulk loads: `tubelake import` uses 100,
// `tubelake bench ingest` 256) one message carries several records, on
// every engine: a version byte then uvarint-length-prefixed records.
// Version 0x03 (written by this build) is a version 0x02 body compressed
// as one S2 block; 0x02 holds binary records (layout in bincodec.go:
// varints and length-prefixed strings, times as UTC instants); 0x01 (older
// builds, still read) JSON envelopes. In BenchmarkCodec the binary codec
// encodes and decodes a record in ~1.1 µs against ~2.7 µs for JSON, with
// ~0.1 allocations per record instead of 8 and a third of the bytes; S2
// makes messages several times smaller again (the broker copies, stores
// and caches fewer bytes: JetStream keeps the blocks written in the last
// 10 s in memory, which at 10M records per run otherwise held the heap at
// its limit) for ~0.2 µs per record. Packing also cuts the broker's
// per-record cost about 3x (docs/BENCHMARKS.md). A packed message's Nats-Msg-Id (Kafka: key) is
// a digest of its record ids: re-publishing the same batch (a re-import of
// the same input) is deduplicated by JetStream, a differently cut batch is
// not, and the sinks' record-id idempotence absorbs it. Sequences
// (checkpoints, StartAfter) count messages. All formats coexist on one
// stream; a bad record inside a batch is dead-lettered alone (its raw
// frame, with a Tubelake-Format header saying json-record,
// binary-record-v2 or message). A field added to yt.Record must be added
// to the binary codec under a new version byte (TestBinaryCodecCoversRecord
// fails otherwise); readers dead-letter versions they do not know.
//
// Consuming is pipelined: a fetcher goroutine fetches and decodes batch
// N+1 while the handler works on batch N, and ConsumeOptions.InFlight > 1
// lets several consecutive batches be in the handler at once. Whatever the
// overlap, ConsumeOptions.Commit (a sink's checkpoint) runs and batches are
// acknowledged strictly in stream order, each after its own handler, its
// Commit and every earlier batch's. ConsumeOptions.Transient lets records
// of binary batches share per-message allocations (strings are substrings
// of one copy of the message) for handlers that keep nothing of a record
// after they return (the lake, not the index).
//
// Delivery contract:
//   - Publish returns only after the engine has stored every record (PubAck;
//     Kafka: acks from all in-sync replicas). On JetStream each message
//     carries Nats-Msg-Id = Record.ID, so a re-publish within the dedupe
//     window (Config.DedupeWindow, default 2 h) is dropped by the server.
//     Kafka has no such window: a re-published record is stored again and
//     the sinks' idempotence (dedupe by record id) absorbs it.
//   - Every sink has its own durable pull consumer with AckAll. Consume hands
//     a batch to the sink's handler and acknowledges the batch's last sequence
//     only after the handler (and Commit, if set) returned nil, i.e. after
//     the sink made the batch durable, and after every earlier batch was
//     acknowledged. A failing handler is retried with backoff on the same
//     batch (its messages marked in progress, as are prefetched ones while
//     they wait); nothing is skipped. A prefetched or in-flight batch was
//     never acknowledged, so a crash redelivers it. On a clean stop the
//     batches whose handler already succeeded are still committed and
//     acknowledged.
//   - A sink that keeps its own checkpoint (the lake's commit manifest, the
//     index snapshot) passes ConsumeOptions.StartAfter; the consumer resumes
//     right after it whatever the engine remembers, so a crash replays
//     exactly the tail the sink had not made durable.
//   - With AckAll, acknowledging a sequence acknowledges all earlier ones. A
//     JetStream durable that had delivered messages the sink never made
//     durable (crash mid-batch) is therefore re-created after its last
//     durable sequence on start instead of being reused: reused, it would
//     deliver what follows and its first ack would silently cover the
//     in-flight batch. (Found by the crash test; pinned by TestContract's
//     InFlightBatchIsRedelivered.)
//   - A message that cannot be decoded is never dropped: it is copied to the
//     dead-letter subject (tubelake.dlq.<consumer>, kept in stream
//     TUBELAKE_DLQ) with the reason, logged, counted, and only then acked.
package stream
