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
// Records are encoded as their JSON envelope (goccy/go-json, byte-for-byte
// what encoding/json reads), so any client can read the stream. With
// Config.RecordsPerMessage > 1 (bulk loads: `tubelake import` uses 100) a
// JetStream message carries several records: a version byte 0x01 (never
// the first byte of JSON) then uvarint-length-prefixed JSON envelopes. It
// cuts the broker's per-record cost about 3x (docs/BENCHMARKS.md). Such a
// message's Nats-Msg-Id is a digest of its record ids: re-publishing the
// same batch (a re-import of the same input) is deduplicated by the server,
// a differently cut batch is not, and the sinks' record-id idempotence
// absorbs it. Sequences (checkpoints, StartAfter) count messages. Both
// formats coexist on one stream; a bad record inside a batch is
// dead-lettered alone.
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
//     only after the handler returned nil, i.e. after the sink made the batch
//     durable. A failing handler is retried with backoff on the same batch;
//     nothing is skipped.
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
