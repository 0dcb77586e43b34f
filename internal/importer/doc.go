// Package importer turns files of YouTube data into yt.Records, so that
// `tubelake import` can send them through the same stream -> sinks path as
// the collector. It owns input decoding (gzip, format detection, parsing),
// validation and per-line error reporting; it does not publish anything: the
// caller's emit function receives the records in batches.
//
// # Formats
//
// The format is detected from the content, after transparently undoing gzip
// (detected by its magic bytes, whatever the file name) and skipping a UTF-8
// BOM. Input starting with '{' or '[' is JSON, anything else CSV.
//
//   - YouTube Data API v3 resources (FormatAPIJSONL, FormatAPIJSON): JSONL
//     whose lines are youtube#video or youtube#channel resources, or whole
//     list responses (youtube#videoListResponse / youtube#channelListResponse,
//     whose items are imported), or arrays of those; or one multi-line
//     (pretty-printed) JSON document of the same shapes, where each item gets
//     the line its object starts on. Counts may be decimal strings (as the API
//     sends them) or JSON numbers; absent/null counts stay nil (hidden). The
//     largest thumbnail is kept. A top-level "fetchedAt" (RFC 3339) is the
//     observation time. Objects without "kind" are accepted when their "id"
//     is a video id or a channel id (this also reads yt.Video/yt.Channel JSON).
//     Other kinds (search results, playlists...) are bad records.
//   - Kaggle trending CSV, newer rsrishav layout (FormatRsrishav) with header
//     or without (FormatRsrishavNH, recognised from the values of the first
//     row): observation time = trending_date; tags are |-separated, "[None]"
//     means none.
//   - Kaggle trending CSV, original datasnaek layout (FormatDatasnaek, and
//     headerless FormatDatasnaekNH): trending_date is yy.dd.mm (17.14.11 is
//     2017-11-14) and is taken as 00:00 UTC; tags are "a"|"b". This layout
//     has no channel id: Snippet.ChannelID is left empty, channel_title goes
//     to Snippet.ChannelTitle. Rows with video_error_or_removed=True are
//     imported like any other row.
//   - fedelux3 trending JSONL (FormatFedelux3): observation time = timestamp
//     (MM-DD-YYYY HH:MM, taken as UTC; trending_date if timestamp is empty).
//   - kr-jp-us-mostpopular videos_latest.csv (FormatMostPopular): observation
//     time = record_date 00:00 UTC; category id only when category_keys name
//     exactly one category.
//
// With a header, CSV columns are found by name (extra or reordered columns are
// fine). In the Kaggle formats, likes and comment counts are nil when
// ratings_disabled / comments_disabled is True, as the API hides them;
// dislikes are validated but not kept (yt.VideoStatistics has no field).
// Invalid UTF-8 in CSV text is replaced by U+FFFD.
//
// # Observation time and record ids
//
// Record ids are derived from (kind, entity id, observation time), and the
// stream and lake dedupe on them, so the observation time must be
// deterministic: it is the record's own time when it has one (see above),
// else Options.ObservedAt (ReadFile defaults it to the file's modification
// time; if it is zero and a record needs it, Read fails with ErrNoObservedAt).
// Importing the same file twice therefore yields the same ids.
//
// Trending files can hold several different observations of one video at
// the same stated time (kr-2024-04-22-sample has three scrapes of each video,
// all with trending_date 2024-04-22, and the same video may be charted in
// two regions on one day). So that none of them is deduped away, a record
// whose (kind, id, time) was already used earlier in the same input gets its
// time moved forward by 1 microsecond (2 for the third, ...). This depends
// only on the file's content and order, so it is deterministic too; it is
// counted in Stats.TimeShifted. Identical observations in two different
// files still dedupe.
//
// # Errors
//
// A bad record (malformed JSON or CSV, wrong number of fields, invalid video
// or channel id, unparseable timestamp, count or boolean, unsupported
// resource kind) yields a LineError whose Line is the 1-based physical line
// where the record starts (CSV records spanning several lines report their
// first line; JSONL reports the line, pretty-printed JSON the line of the
// item's opening brace). With OnError Skip the record is counted in
// Stats.Skipped, the first MaxErrors are kept in Stats.Errors, and every
// valid record around it is imported. With OnError Fail (the default) Read
// stops at the first bad record and returns the *LineError wrapped (use
// errors.As): it has emitted only the batches before it — all valid records
// read before the bad line are flushed in batches before returning, and
// nothing at or after the bad line is emitted. The bad record is not counted
// in Stats.Skipped/Errors then (those list skipped records only).
//
// Error messages read "import: FILE:LINE: what is wrong" for a *LineError
// and "import FILE: what is wrong" otherwise.
//
// Some errors are fatal in both modes, because nothing after them can be
// located reliably: a syntax error in a multi-line JSON document (a
// *LineError), a CSV whose first record is neither a known header nor a
// recognisable headerless row (a *LineError), a corrupt or truncated gzip
// stream, and ErrNoObservedAt. As in Fail mode, the valid records read
// before such an error are emitted before Read returns. An emit error or a
// cancelled context stops Read at once (the pending partial batch is not
// emitted); Stats.Records counts only records emit accepted.
//
// Because ids are deterministic, re-running an import after fixing the input
// (or after a failure) is safe: the records already emitted dedupe.
//
// # Databases
//
// ReadSQL imports a MySQL/MariaDB (go-sql-driver/mysql) or PostgreSQL (pgx)
// table or query, given as mysql://user:pass@host:port/db or
// postgres://user:pass@host:port/db?sslmode=..., with a column mapping
// "field=column,..." (ParseMapping; SQLFields lists the fields, id is
// required). Rows are streamed by one query (no offset paging) and batched
// to emit like file imports; a bad row (invalid video id, non-numeric count,
// unparsable time) is a LineError whose Line is the row number. Counts that
// are NULL stay hidden (nil); times without a zone are UTC; fetched_at, if
// mapped, is the observation time, else Options.ObservedAt. Tested against
// real MariaDB and PostgreSQL servers (.ci/deps/20-databases.sh; the tests
// skip without TUBELAKE_TEST_MYSQL_URL / TUBELAKE_TEST_POSTGRES_URL).
package importer
