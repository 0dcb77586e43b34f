// Package stream carries yt.Records from producers (collector, importer) to
// the sinks (lake, index) with at-least-once delivery.
//
// The default engine is a NATS JetStream server embedded in the tubelake
// process (file storage under <data>/stream); the same code talks to an
// external NATS cluster when Config.URL is a nats:// URL.
//
// Delivery contract:
//   - Publish returns only after JetStream has stored every record (PubAck).
//     Each message carries Nats-Msg-Id = Record.ID, so a re-publish within the
//     dedupe window (Config.DedupeWindow, default 2 h) is dropped by the server.
//   - Every sink has its own durable pull consumer with AckAll. Consume hands
//     a batch to the sink's handler and acknowledges the batch's last sequence
//     only after the handler returned nil, i.e. after the sink made the batch
//     durable. A failing handler is retried with backoff on the same batch;
//     nothing is skipped.
//   - A sink that keeps its own checkpoint (the search index) passes
//     ConsumeOptions.StartAfter; if the durable's ack floor disagrees with the
//     checkpoint, the durable is re-created to start right after it, so a
//     crash replays exactly the tail the sink had not made durable.
//   - A message that cannot be decoded is never dropped: it is copied to the
//     dead-letter subject (tubelake.dlq.<consumer>, kept in stream
//     TUBELAKE_DLQ) with the reason, logged, counted, and only then acked.
package stream
