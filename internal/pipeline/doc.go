// Package pipeline wires tubelake's stages together inside one process:
// it opens a data directory (stream/, lake/, index/ below it), runs one
// durable stream consumer per sink (the Parquet lake and the search index),
// and exposes what the serve layer needs.
//
// Data flows one way: producers (collector, importer) publish to the stream;
// the lake consumer acknowledges a batch only after the Parquet files holding
// it are committed; the index consumer applies batches in memory, flushes a
// crash-safe snapshot with the last applied stream sequence every few
// seconds, and on restart the stream replays exactly what came after that
// checkpoint.
package pipeline
