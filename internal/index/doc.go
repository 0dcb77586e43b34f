// Package index is tubelake's search engine: exact substring keyword search
// over video titles, tags, channel titles and descriptions, sorted by views,
// recency or relevance, in about a millisecond. It owns the latest state of
// every video and channel it has seen (applied from the stream, idempotently)
// and its own on-disk snapshot.
//
// # Text
//
// Every field is normalized (Normalize: width folding, NFKC, Unicode case
// folding, control/format characters dropped, white space collapsed; a
// verified fast path skips x/text for ~99% of generated texts: runes the
// pipeline leaves alone (Hangul, kana, CJK, ASCII, most symbols and
// punctuation, emoji), runes it maps to one such rune whatever surrounds
// them (the capitals of every script, fullwidth and compatibility forms,
// a table built once from the pipeline itself), Hangul jamo it composes
// (compatibility or conjoining choseong + jungseong [+ jongseong]), kana
// with a combining voicing mark, … ‼ ⁉, white space and format
// characters; a text already normal is returned as it is). Hangul
// stays one rune per syllable, so Korean, English, Japanese and emoji are all
// just runes. The inverted index maps grams to roaring bitmaps of doc ids, per
// field: every rune (unigram) and every adjacent rune pair (bigram, spaces
// included, never across two tags), plus "initials" grams (the initial
// consonant of each Hangul syllable, single and paired) for ㅊㄷㅇㅇ-style
// queries. A one- or two-character term is answered by a single posting list
// exactly (this is why 영어 and 먹방 are cheap, unlike with trigrams).
// Trigrams are added where they pay: every three adjacent printable ASCII
// runes (no space, never across two tags). Latin letters and digits form few
// distinct bigrams, each in a large share of titles, so an English word's
// bigrams intersect to many false candidates (about 2.5 % precision at 10M
// docs); its trigrams are close to exact, and a three-rune ASCII term is its
// trigram: answered by one posting list exactly, like 영어. Longer terms take the intersection
// of their trigrams and of the bigrams no trigram covers as candidates
// (smallest posting first; the consecutive grams of a word are strongly
// correlated, so intersecting stops once the last intersection removed too
// few candidates to pay for the next merge: verifying a false candidate is
// cheaper than merging a posting of hundreds of thousands of docs), and
// every candidate that may be returned or counted is VERIFIED against the
// stored normalized text (strings.Index), so results are exact substring
// matches. Snapshots of version 1 (before trigrams) get their trigram
// postings when they are loaded.
//
// # Storage
//
// Doc storage is pointer-free, so the garbage collector never scans it
// (arena.go): a fixed 64-byte doc struct (arena reference, observation times,
// interned ids of channel id and title, category, language and duration), the
// video ids concatenated in one []byte with an open-addressing hash table of
// doc numbers, and an append-only text arena of 4 MiB chunks holding one
// record per doc: the normalized title, tags and description (what
// verification reads) plus a patch that rebuilds each raw field from its
// normalized form — nothing when equal, the upper-case positions when they
// differ only in ASCII case, a short edit script for local differences
// (full-width forms, ideographic spaces, ellipses), the raw bytes otherwise —
// and the thumbnail. A text change appends a new record (the old one is
// counted as garbage; the arena is not compacted yet). Channel titles are
// interned with their normalized form.
//
// The texts (about 1.1x the raw text, a third of the index before its
// first flush) need not stay in the heap: when the arena starts a new
// 4 MiB chunk, the full one is written to a spill file in the index
// directory and replaced by a read-only memory map of it (textspill.go),
// under the write lock. The file is unlinked as soon as it is created
// (scratch: the snapshot holds the texts durably), each byte is written
// once (chunks never change once full), and its pages live in the page
// cache: resident while searches verify against them, evictable under
// memory pressure. If the file cannot be made, written or mapped, the
// chunks stay in the heap (logged once); nothing is lost. Hits copy
// every string they take from the arena, and searches, Video and Stats
// after Close answer without reading it, so unmapping at Close is safe.
// At 10M docs the heap after the build fell from 3.79x to 2.70x the raw
// text (Stats.TextMappedBytes: 2.44 GiB mapped), at no measured cost to
// indexing or queries.
//
// Posting lists (postings.go) start as delta-varint lists: a new gram's
// first doc makes a list, and new docs (ids only grow) are appended to it
// until it holds 2048 docs, when it becomes a roaring bitmap; any other
// change (a removal, a revived doc) also turns a list into a bitmap. Once the
// entries added since the last compaction exceed an eighth of the entries
// then (geometric, so each entry is rewritten a bounded number of times),
// Apply settles the postings modified since: it computes their settled form
// without the write lock (Apply's mutex keeps them unchanged, searches only
// read) and installs them in short write-lock holds. A posting settles as a
// list in a shared pointer-free slab, with room reserved after it for the
// appends until the next compaction (made in place, under the write lock),
// when it holds at most 2048 docs and the list is smaller than its roaring
// form (a roaring container costs ~50 bytes of overhead for a few 2-byte
// entries); otherwise it is frozen: serialized in the portable roaring
// format, in the slab when small, else in an allocation of its own. A query
// reads a frozen blob in place (roaring's FromBuffer: container headers
// only, copy-on-write) and ORs in the docs added since the freeze, which
// wait in a small roaring bitmap; a removal thaws the posting into a bitmap.
// Settled postings hold no pointers, so the collector does not walk
// millions of roaring containers, and a snapshot load keeps the blobs it
// reads as they are. When over a quarter of the slab is garbage, every
// posting in it moves to a new slab.
//
// # Queries
//
// Terms are ANDed, each matching in at least one of the selected fields; a
// "quoted phrase" is one substring. Filters on channel, category and language
// are bitmaps intersected with the candidates; published-at range and minimum
// views are checked on the columns. Options Initials and Layout add
// alternative patterns to a term (initial-consonant matching; QWERTY <->
// 2-beolsik keyboard conversion, both directions).
//
// # Top-k without sorting every match
//
// Counts and published_at live in columns (arrays indexed by doc id, kept in
// pages of 65,536 so growing them never copies: see paged.go) next to
// the postings: a statistics refresh updates the columns in place and never
// touches a posting list. Two rank orders (views desc, published desc) cut the
// doc ids into blocks of 128 with an upper and lower bound of the current key
// of their docs. A key update only widens the bound of its block (O(1)), so
// the bounds stay correct and top-k stays exact; a background rebuild re-sorts
// when bounds got loose (Stats.Rebuilds): it reads the keys in read-locked
// chunks, records every key change and new doc meanwhile, and replays them
// when it swaps the new orders in under the write lock. A query with many candidates walks
// the blocks in order and skips every block whose bound cannot beat the k-th
// best hit so far (block-max early termination): a query matching millions
// verifies about as many docs as one matching fifty. Relevance is additive in
// log10(views) units: log10(1+views) + the mean over terms of a bounded text
// bonus (field: title 0.3, tags 0.2, channel 0.15, description 0; position at
// most 0.1, decaying with the offset; whole-field match 0.05). It uses the
// views order with the bound log10(1+blockMax) + maxBonus, so only docs within
// a factor 10^maxBonus (<= 2.8x) of the k-th hit's views are ever verified.
// Inside a block, once the heap is full, the doc's own key is compared with
// the heap's floor before the (costlier) bitmap probe, which keeps unsorted
// tail blocks cheap; until then only the probe filters. A moderate
// candidate set (card^2 <= 400*N) is probed through a pooled dense bitset
// instead of the roaring bitmap (a roaring probe binary-searches the
// container keys first).
// Queries with few candidates (<= 4096), or whose total must be verified
// anyway and will not stop early, simply verify them all in one pass (and
// cache the verified total); once the total is cached, that pass verifies
// only the candidates whose sort key would enter the top k — in doc-id
// order, unrelated to the key, about k*(1+ln(n/k)) of n. Totals are exact up to TotalCap (10,000)
// and then reported as "gte", like Elasticsearch's track_total_hits, unless
// Query.ExactTotal; a term of one or two characters without column filters
// gets its exact total from the bitmap cardinality for free. Verified totals
// are cached per (terms, fields, bitmap filters) with a doc-id horizon: the
// cache stays valid until an EXISTING doc changes text, filters or liveness
// (Index.gen), statistics refreshes never invalidate it, and docs added since
// are counted incrementally — so a head query costs tens of microseconds.
//
// MinViews and the published range are also served by bucket bitmaps
// (power-of-two view buckets, month buckets) intersected as superset filters,
// so a selective filter does not verify every candidate.
//
// Cursor pagination is search_after: the cursor is the opaque base64 of the
// sort key and video id of the last hit; ties break on video id, so pages
// never repeat or skip a doc while the data is unchanged.
//
// # Updates and concurrency
//
// Apply calls are serialized and work in chunks (256 records; 4096 in big
// batches), each prepared under the READ lock by two goroutines that split
// the records by a hash of the video id (so all records of one video stay in
// order on one goroutine). A statistics refresh — a newer snapshot whose
// texts, channel title and thumbnail equal the stored ones (checked through a
// per-doc xxHash column, thash, set when the doc is created from a record and
// on the first full comparison otherwise; a text change could go unnoticed
// only on a 2^-64 collision), with the same filters, duration and
// published_at — is applied right there, in place: counters and observation
// times are stored atomically (searches load them atomically), and the doc's
// rank block bounds are widened with compare-and-swap before the new key is
// stored, so a search that sees the key also sees a bound that covers it.
// Such a refresh never takes the write lock (Stats.InPlace counts them). A
// refresh of a random doc reads about ten random cache lines (id table, doc,
// columns, rank block), a cache and TLB miss each in a large index, so the
// records are looked up and their lines loaded 32 at a time in tight loops
// (the CPU overlaps the misses) before they are classified. A refresh that
// moves a doc to another view-count bucket leaves it filed in the old bucket
// until the write lock re-files it (512 moves per hold, once 4096 wait or the
// oldest waited a second: a write lock after every batch would wait for the
// searches in flight); meanwhile min_views filters keep moved docs as
// candidates and check their views exactly. maybeCompact likewise checks
// under the read lock whether a compaction is due before it takes the write
// lock.
// A hit's counters are each current, but a refresh running concurrently with
// a search may be visible in one counter and not yet in another.
//
// Everything else (new docs, text changes, filters, tombstones, channels)
// is applied under the write lock in short holds, so searches never wait
// behind a large batch: a chunk that cannot be inverted (below) releases it
// every 256 records; an inverted chunk of new docs every 1024 records and
// then between the four parts of its inversion (meanwhile its new docs are
// found by some terms and not yet by others, never falsely, and totals are
// not cached). A chunk keeps encodeGate throughout, so no Flush cuts into
// it. The preparing goroutines normalize texts and cut grams (pure
// functions of the record, into one pooled buffer per chunk) for the next
// chunk meanwhile. Every write-lock hold is recorded (Stats.WriteHolds,
// exported as tubelake_index_write_lock_hold_seconds): at 10M docs the
// longest were 1-2 s while the doc table and columns were slices copied on
// growth and the id table one hash table rehashed at once; the id table is
// now 256 tables, the compaction's scan of every posting runs without the
// write lock, and a rank rebuild replays the docs changed meanwhile under
// the read lock, leaving a short tail for its swap.
//
// New docs are indexed by batch inversion (invert.go): adding a doc's grams
// one by one costs a lookup in the field's gram map per gram (~220 grams a
// generated doc, a cache miss each in a large index). The docs of a chunk
// share most grams (4096 generated docs: ~29 distinct grams per doc), so
// the preparation also groups the grams of the chunk's new-doc records by
// gram (one goroutine per field, an open-addressing table reused between
// chunks), and the write-locked apply looks each distinct gram up once and
// appends its docs, ascending, to the list or bitmap — one goroutine per
// field, since each field has its own gram map. A chunk with anything but
// video records, or with one video twice, is applied record by record
// (TestInversionMatchesPerRecord proves both ways build the same postings).
//
// A video snapshot is applied only if its FetchedAt is newer than the stored
// one (and newer than any tombstone); text_changed events apply when newer
// than the stored texts; a text change updates only the grams that differ, a channel snapshot
// updates the channel field of its videos, and a video tombstone removes the
// doc from every posting list (its slot is kept to reject late replays).
//
// # Persistence
//
// A full snapshot is one file (temp file, fsync, rename, fsync dir) with
// the docs (each with its text record exactly as the arena holds it:
// normalized texts and patches, validated when read), channels, serialized
// posting lists, a checkpoint (the caller's last applied stream sequence),
// the postings section's offset and a CRC-32C; Open loads it, decoding
// the docs and the postings in two goroutines, and derives the filters and
// rank orders. Format version 3; files of versions 1 and 2 (raw texts,
// whose patches Open recomputes) still load, checked against golden files
// in testdata.
//
// Flush usually writes a delta instead (delta.go): an immutable file, as
// crash-safe, of only what changed since the previous Flush, on top of the
// full snapshot. Apply records the changes as they happen: docs created
// since the last flush's cut are new (every doc id above the cut); below it
// a bitset of docs refreshed in place (set atomically by applyStats under
// the read lock, in the doc's cache lines' neighbourhood) and one of docs
// changed otherwise (text, tombstone, revival, channel title), the grams
// whose postings changed for such a doc, and the channels stored or
// deleted. The cut is taken under the write lock while holding the encode
// gate, so the encoding that follows sees exactly the docs of the cut. A
// delta holds the new docs, the changed docs whole, a refreshed doc as its
// six counters and times (~30 bytes), and per posting either the whole
// posting (its older docs changed, or compaction froze it anew in the heap:
// it is then read from the delta's map) or only its docs above the cut. A
// delta names its base (size and checksum) and its predecessor (checksum);
// Open applies the chain that continues the base it loaded and ignores any
// other delta (left by a crash between a merge's commit and its clean-up).
// Deltas merge size-tiered, like an LSM tree's segments: when a flush
// would make the eighth delta of one level in a row at the chain's tail,
// it writes instead one delta of the next level holding the union of their
// changes and its own, over the first one's number, and removes the others
// (a crash before they are gone leaves them unchained: ignored). So a
// server flushing every 5 s keeps at most 7 deltas per level, and each
// change is rewritten once per level. Once the deltas reach a quarter of
// the full snapshot, or the docs grew by a quarter since it, the next
// Flush writes a full snapshot and deletes the deltas (FlushFull forces
// that).
// A failed Flush forces the next one to be full (its changes are no longer
// tracked). At 3M docs, the flush after 500k statistics refreshes writes
// 12.8 MiB in 0.23 s; a full snapshot of the same index, 2.8 GB in 12-16 s.
//
// The snapshot is also where frozen postings live afterwards (mmap.go).
// Open reads the file through a read-only memory map (no copy of the
// posting bytes) and keeps each frozen
// blob as a slice of the map; the doc section's pages are then dropped from
// the resident set. After a Flush has committed its file, it maps the
// postings section and swaps every frozen posting whose blob is unchanged
// since it was encoded to the written copy (docs added since stay in its
// additions; a posting compacted or thawed meanwhile keeps its own), in
// short write-lock steps while holding Apply's mutex. Roaring reads the
// blobs copy-on-write; a thaw copies the containers that still alias the
// map. An earlier map is unmapped once no posting reads it (searches hold
// the read lock for their whole run, so a write-lock barrier before the
// unmap is enough), and Close unmaps all. The frozen postings, about 40% of
// the index at 10M docs, so leave the Go heap for the page cache, which the
// kernel can evict and read back. The index only ever replaces its snapshot
// by a rename, so a mapped file never changes; truncating it from outside
// while the index runs would crash the process (SIGBUS), as it would any
// mmap-based store. Flush encodes under the read lock: searches and
// statistics refreshes go on, and other writers wait for the encoding at a
// gate of their own rather than queued on the lock, where they would stall
// every new search for the rest of the flush (a full snapshot at 10M docs
// takes ~42 s; a delta, a fraction of a second). Deltas are mapped like
// snapshots: a whole posting a delta holds reads its blob from the
// delta's map.
//
// # Measuring
//
// Correctness: TestOracleProperty and TestRealTitles compare top-20 ids and
// totals with a brute-force normalized substring scan for every sort and both
// execution paths; TestDeltaChain opens the directory after every flush of
// random changes of every kind (full or delta) and compares every doc,
// channel and posting with the live index; TestOpenDamagedDelta damages
// each byte of a delta; FuzzNormalize, FuzzQuery and FuzzOpenSnapshot (any
// snapshot bytes with a matching checksum: an error or a working index,
// never a panic or an allocation sized by a damaged count; run with
// go test -fuzz FuzzOpenSnapshot ./internal/index/). Performance lives in
// benchmarks on a corpus made from the real chart titles in ../shared/data:
//
//	TUBELAKE_BENCH_DOCS=1000000 go test -run XXX -bench 'Search|ApplyStats' -benchtime 200x ./internal/index/
//	go test -run XXX -bench ApplyNew -benchtime 1x ./internal/index/
//
// (p50-µs, p99-µs and cpu-µs per query kind and sort, docs/s, updates/s, heap;
// the machine is shared, so cpu-µs/op and docs/cpu-s are the stable numbers).
package index
