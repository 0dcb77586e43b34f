// Package lake owns tubelake's Parquet data lake: the schema of its tables,
// the layout of its files and the protocol that commits them. It writes
// through gocloud.dev/blob only (file:// or a plain directory, or
// s3://bucket?region=R[&prefix=P/][&endpoint=URL&use_path_style=true] for
// S3 and S3-compatible stores; the s3blob driver is linked in and tested end
// to end against an in-process S3 server, gofakes3), so the same code
// targets a local disk and an object store. Reading the lake with SQL is
// internal/lakesql's job; Mirror copies an object-store lake's committed
// files to a local directory for readers that only read local files.
//
// # Tables and layout
//
// A yt.KindVideo record becomes one row of videos (snippet + contentDetails)
// and one row of video_stats (the counts time series); KindChannel one row of
// channels and one of channel_stats; KindEvent one row of events. Every row
// carries record_id (the envelope id), schema_version and source. Columns
// are snake_case API names; timestamps are TIMESTAMP(isAdjustedToUTC=true,
// MICROS); counts the API hid are NULL; strings the API omitted are NULL.
// The schemas are pinned by testdata/*.schema.golden.
//
// Files live at
//
//	<table>/dt=YYYY-MM-DD/part-<max event time>-<16 hex>.parquet
//
// where dt is the UTC date of each row's own event time (fetched_at, or
// observed_at for events), never the wall clock: a late or replayed record
// lands in the partition of the day it describes. Files are zstd-compressed
// (Write's files, which compaction rewrites, at zstd's fastest level:
// ~40% less compression CPU for ~6% more bytes; compaction output at the
// default level; 1 MB windows, encoders kept for the Lake's lifetime) with
// V1 data pages, dictionary-encoded repeating ids (channel_id, events'
// entity_id) and low-cardinality columns, PLAIN other strings, including
// the key id of each snapshot table and record_id, which are unique within
// a batch file so a dictionary would not pay (see "Encodings" in
// schema.go; no delta encodings: older Spark/Presto readers lack them), min/max statistics except on free text, rows sorted by the table key
// (videos: channel_id, id, fetched_at; video_stats: channel_id, video_id,
// fetched_at; channels: id, fetched_at; channel_stats: channel_id,
// fetched_at; events: entity_id, observed_at; record_id last everywhere), so
// row-group min/max statistics prune. Row groups hold at most
// Options.RowGroupRows rows and are streamed to the blob writer as they fill:
// the writer buffers one row group, never a file. (Write converts the
// records of its batch to rows once, sorts row indexes per (table, dt) —
// videos/video_stats and channels/channel_stats share one sort, their keys
// being equal — and copies each row once, into the writer's row buffer;
// the caller already holds the batch as records. Compaction streams end to
// end.) Write is safe for concurrent use: the pipeline keeps two batches
// in it at once and orders the commit manifests itself (step 6 below).
//
// # Commit protocol (exactly-once view of an at-least-once stream)
//
//  1. Atomic publish. A file is written through blob.Writer. fileblob writes
//     "<final name>.<hex>.tmp" in the same directory (no_tmp_dir, so the
//     rename cannot cross filesystems), we fsync it, Close renames it to its
//     final name, and we fsync the directories up to the lake root. Object
//     stores publish an object only when its upload completes. On any error
//     the writer's context is cancelled, which deletes the temp file or
//     aborts the upload. Readers glob "*.parquet", so a temp file is never
//     read and a half-written file never exists under its final name.
//
//  2. Durability. Write commits every (table, dt) file of the batch before it
//     returns nil; only then may the caller ack the stream messages.
//
//  3. Deterministic names. A Write file's <16 hex> is a digest of the set of
//     record ids it holds, and <max event time> a function of its rows, so a
//     batch redelivered unchanged maps to the same keys; existing keys are
//     skipped (the object is complete by 1). A batch redelivered with a
//     different cut produces new files that repeat some records.
//
//  4. Dedupe on read. record_id is unique per table (one observation, one
//     row), so readers dedupe by record_id: lakesql's views keep one row per
//     record_id (QUALIFY row_number() OVER (PARTITION BY record_id) = 1).
//     Duplicated files therefore never show up as duplicated rows.
//
//  5. Provenance. Each footer records tubelake.table, tubelake.dt,
//     tubelake.rows, tubelake.min_record_id/max_record_id,
//     tubelake.min_time/max_time and tubelake.record_set: the XOR of
//     sha256(record_id) over the file's rows, an order-independent digest
//     of exactly which records it covers. The record_id column itself is
//     the authoritative list (a list of ids in the footer would make every
//     reader download it).
//
//  6. Stream offsets in the lake. After a batch's files are committed, the
//     sink writes the consumer's commit manifest
//     _tubelake/commits/<consumer>.json (WriteCheckpoint: temp + fsync +
//     rename on disk, one PUT on S3) holding the last stream sequence the
//     lake holds, the engine and the stream's identity; only then is the
//     stream acknowledged. On start the consumer resumes right after the
//     manifest's sequence (ReadCheckpoint; internal/pipeline), whatever the
//     engine remembers, so a crash at any point replays exactly the batches
//     the manifest does not cover: a crash after the files but before the
//     manifest replays one batch (skipped by 3 or deduplicated by 4), a
//     crash after the manifest but before the ack replays nothing. The
//     manifest lives in the lake itself, so it moves with the data (to S3
//     too) and is never ahead of it. The manifest names the stream (engine,
//     configured URL without credentials, and the stream's incarnation:
//     JetStream creation time or Kafka topic id); a manifest of another
//     stream, or one past the end of the stream, makes the consumer replay
//     that stream from its start (idempotent) instead of trusting sequence
//     numbers that mean something else. Readers never see manifests
//     (they glob <table>/dt=*/*.parquet).
//
// A failed Write may leave some of its files committed and others not;
// readers may briefly see part of a batch, and the redelivery completes it
// (files already committed are skipped by 3, rows seen twice dropped by 4).
//
// # Compaction
//
// Compact merges the small files of one partition into files of about
// targetBytes (DefaultTargetBytes, 256 MB; `tubelake lake compact
// --target-mb`): it k-way merges up to 32 inputs at a time (each sorted; more
// small files take further passes) in small chunks, dropping adjacent copies
// of the same record_id, checks before committing that output rows plus
// dropped copies equal input rows, writes the output
// with the same atomic publish (its name is a digest of the input names, so a
// crashed compaction that is retried finds its output and just finishes the
// deletes), and only then deletes the inputs. Between the publish and the
// last delete a reader can see both the inputs and the output: every row is
// then visible twice, with the same record_id, and the record_id dedupe of
// step 4 shows it once. A reader that listed an input just before it was
// deleted may fail to open it and must retry the query. Compaction never
// loses a row: inputs are deleted only after the output is durable.
// It also removes temp files older than an hour left by crashed writers.
// Compaction physically removes the duplicate copies 3-4 allow: after a
// full compaction of a partition every record_id is in exactly one row
// (proved by internal/pipeline's SIGKILL crash test).
//
// # Schema version and evolution
//
// SchemaVersion (currently 1) is written in every footer as
// tubelake.schema_version, and every row carries the record envelope's
// schema_version (yt.SchemaVersion). The rules, which keep every file ever
// written readable by DuckDB's union_by_name views, Athena/Trino tables
// and older readers:
//
//   - Only add columns, and only OPTIONAL (nullable) ones; older files read
//     as NULL for them. Adding a column bumps SchemaVersion and updates the
//     golden schema files and the Athena/Trino DDL (ALTER TABLE ADD COLUMNS).
//   - Never remove, rename, reorder the meaning of, or change the type or
//     repetition of an existing column; never make an optional column
//     required; never change a timestamp's unit (MICROS, UTC-adjusted).
//   - Never change partitioning (dt = UTC date of the row's own event time)
//     or the file naming scheme of existing tables; a different layout is a
//     new table.
//   - The stream envelope follows the same rule (add optional fields only),
//     and a reader accepts every version up to its own.
//
// TestSchemaGolden pins the schema of every table, so an accidental change
// fails; an intended one updates the golden files under these rules.
package lake
