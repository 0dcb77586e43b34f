// Package searchbench is `tubelake bench search`: the benchmark of the search
// index (internal/index) on a realistic corpus, against a brute-force oracle
// and existing engines.
//
// # Corpus
//
// LoadModel learns, per language (ko, ja, en), a word-bigram model of real
// titles from ../shared/data (kr-jp-us-mostpopular videos_latest.csv.gz, the
// Kaggle rsrishav samples, the kr-2024 and fedelux3 KR samples; Japanese
// titles are split at script changes), plus real channel titles, tag lists,
// first lines of descriptions and category ids. A Generator samples doc i
// from a PCG seeded with (seed, i), so any doc can be regenerated on demand
// and the corpus is streamed, never held: 60% ko, 20% ja, 20% en videos;
// titles from the bigram model with 20% back-off to the unigram
// distribution (recombination) and 2% coined words from a rune model of the
// language's words (the long tail of names, so rare terms exist at any
// size); Zipf-like (Pareto) view counts; publish dates 2010-2025 skewed to
// recent years; ids are a bijective hash of i (valid, never colliding).
//
// # Run
//
// Run indexes the corpus with index.Apply in batches (measuring Apply time,
// docs/s, Go heap, VmRSS/VmHWM, Flush time and snapshot size), then
// regenerates it into the oracle store (all normalized titles in one buffer)
// and picks the queries from the corpus itself (kinds: common, rare,
// ko-1-2, english, japanese, multi-term, no-match). Every query is checked
// against the oracle (top-20 ids by views desc, id asc, and the total, with
// "gte" accepted from index.TotalCap on) and timed Reps times. The anchors
// (scan, Bleve with rune-bigram match_phrase, SQLite FTS5 trigram, DuckDB over
// Hive-partitioned Parquet through internal/lakesql) index the first
// AnchorDocs normalized titles and answer the same queries. Finally view-count
// snapshots are applied while a query loop runs, and every query is checked
// again against the updated oracle. With Reopen the final state is flushed,
// the index closed and opened from its snapshot (as a restarted server
// does), and every query checked once more; open time and the reopened heap
// are reported.
//
// A speed probe (speedProbe: the generator on one thread, ns/doc) runs at
// the start and the end: the benchmark machine has slow periods, and runs
// compare only when their probes do.
package searchbench
