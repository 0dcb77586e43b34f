// Package lake owns tubelake's Parquet data lake: the schema of its tables,
// the layout of its files and the protocol that commits them. It writes
// through gocloud.dev/blob only (file:// or a plain directory today, any
// blob URL such as s3://bucket?endpoint=... once its driver is linked), so
// the same code targets a local disk and an object store. Reading the lake
// with SQL is internal/lakesql's job.
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
// with V1 data pages, dictionary-encoded id and low-cardinality columns,
// PLAIN other strings (no delta encodings: older Spark/Presto readers lack
// them), min/max statistics except on free text, rows sorted by the table key
// (videos: channel_id, id, fetched_at; video_stats: channel_id, video_id,
// fetched_at; channels: id, fetched_at; channel_stats: channel_id,
// fetched_at; events: entity_id, observed_at; record_id last everywhere), so
// row-group min/max statistics prune. Row groups hold at most
// Options.RowGroupRows rows and are streamed to the blob writer as they fill:
// the writer buffers one row group, never a file. (Write sorts the rows of
// its batch in memory, which the caller already holds as records;
// compaction streams end to end.)
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
//  2. Durability. Write commits every (table, dt) file of the batch before it
//     returns nil; only then may the caller ack the stream messages.
//  3. Deterministic names. A Write file's <16 hex> is a digest of the set of
//     record ids it holds, and <max event time> a function of its rows, so a
//     batch redelivered unchanged maps to the same keys; existing keys are
//     skipped (the object is complete by 1). A batch redelivered with a
//     different cut produces new files that repeat some records.
//  4. Dedupe on read. record_id is unique per table (one observation, one
//     row), so readers dedupe by record_id: lakesql's views keep one row per
//     record_id (QUALIFY row_number() OVER (PARTITION BY record_id) = 1).
//     Duplicated files therefore never show up as duplicated rows.
//  5. Provenance. Each footer records tubelake.table, tubelake.dt,
//     tubelake.rows, tubelake.min_record_id/max_record_id,
//     tubelake.min_time/max_time and tubelake.record_set: the XOR of
//     sha256(record_id) over the file's rows, an order-independent digest
//     of exactly which records it covers. The record_id column itself is
//     the authoritative list (a list of ids in the footer would make every
//     reader download it).
//
// A failed Write may leave some of its files committed and others not;
// readers may briefly see part of a batch, and the redelivery completes it
// (files already committed are skipped by 3, rows seen twice dropped by 4).
//
// # Compaction
//
// Compact merges the small files of one partition into files of about
// targetBytes: it k-way merges up to 32 inputs at a time (each sorted; more
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
package lake
