// Package pipeline wires tubelake's stages together inside one process:
// it opens a data directory (stream/, lake/, index/ below it), runs one
// durable stream consumer per sink (the Parquet lake and the search index),
// and exposes what the serve layer needs.
//
// Data flows one way: producers (collector, importer) publish to the stream
// (embedded JetStream, external NATS or Kafka: Config.StreamURL); the lake
// consumer commits a batch's Parquet files, then the lake's commit manifest
// (the batch's last stream sequence, stored in the lake), then acknowledges
// the stream, and on start resumes right after the manifest's sequence. The
// lake consumer is pipelined: the next batch is fetched and decoded while
// two batches are in the Parquet writer at once (stream
// ConsumeOptions.InFlight); the manifest is written in
// ConsumeOptions.Commit, which runs one batch at a time in stream order,
// so it never covers a batch whose files are not all durable (a crash
// leaves at most two batches of files past it, replayed idempotently). The
// index consumer applies batches in memory, flushes it crash-safe with
// the last applied stream sequence every few seconds (IndexFlushEvery, but
// at least four times the last flush's duration; new videos wait while a
// flush is encoded, searches do not), and on restart the stream replays
// exactly what came after that checkpoint. A flush usually writes a small
// delta of what changed since the previous one; now and then it merges
// the deltas into a full snapshot, whose duration grows with the index
// (~42 s at 10M docs; see index.Flush). Flush durations are in the
// tubelake_index_flush_seconds histogram (label kind: delta or full), and
// the index's figures in tubelake_index_* gauges and counters (docs,
// grams, heap and mapped bytes, snapshot bytes and deltas, checkpoint,
// applied, in-place, stale and rejected records), plus the
// tubelake_index_write_lock_hold_seconds histogram: how long each write
// of the index kept searches waiting. RebuildIndex (tubelake index
// rebuild) rebuilds the index from the lake instead, with the lake's
// checkpoint, into index.rebuild; a marker then makes it complete and it
// replaces the index (Open finishes a swap a crash interrupted). A Node and a rebuild hold an exclusive lock on DataDir/LOCK
// (flock, released when the process dies), so two processes never run
// sinks over one data directory and an index is never rebuilt under a
// running server.
//
// BenchIngest (tubelake bench ingest) measures publish -> stream -> lake
// committed throughput per engine, with process CPU and peak RSS, and can
// write CPU and allocation profiles of the ingest phase (samples labelled
// stage=publish or stage=sinks; --cpuprofile, --allocprofile). crash_test.go re-executes the test binary
// as the pipeline process, SIGKILLs it 20 times at random points during
// ingest and compaction, and proves with DuckDB that every published record
// is in the lake exactly once (through the views and physically).
package pipeline
