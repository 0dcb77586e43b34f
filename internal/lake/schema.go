package lake

import (
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/tubelake/tubelake/internal/yt"
)

// Table names. They are also the top-level directories of the lake.
const (
	TableVideos       = "videos"
	TableVideoStats   = "video_stats"
	TableChannels     = "channels"
	TableChannelStats = "channel_stats"
	TableEvents       = "events"
)

// SchemaVersion is the version of the lake's table schemas, written in
// every file footer (tubelake.schema_version). It is bumped when a column
// is added; see "Schema evolution" in the package documentation.
const SchemaVersion = 1

// Tables lists every table of the lake in a stable order.
func Tables() []string {
	return []string{TableVideos, TableVideoStats, TableChannels, TableChannelStats, TableEvents}
}

// Column conventions, shared by every table:
//   - names are snake_case versions of the YouTube Data API field names;
//   - timestamps are INT64 TIMESTAMP(isAdjustedToUTC=true, MICROS);
//   - a string the API omits is NULL (columns tagged optional), a hidden count is NULL;
//   - record_id (the envelope id, the dedupe key), schema_version and source close every row;
//   - the partition column dt is NOT stored in files: it comes from the Hive path.
//
// Encodings (not part of the schema: every reader decodes both, per column
// chunk, and compaction re-encodes old files freely). Columns tagged dict
// are dictionary-encoded: the ids that repeat within a file (channel_id in
// videos, video_stats and events; events' entity_id, several events per
// entity) and the low-cardinality strings (category, languages, duration,
// source...). The key id of a snapshot table (videos.id,
// video_stats.video_id, channels.id, channel_stats.channel_id) and
// record_id are PLAIN: a batch file holds one observation per entity, so
// their values are unique within the file and a dictionary would only add
// its own page (every value stored once anyway) plus a hash-map insert per
// row, which was ~30% of the CPU spent on Parquet files (1.4 of 4.5 µs per
// record in the 10M ingest profile).
// In compacted files an entity observed several times a day repeats, but
// rows are sorted by that key, so the copies are adjacent and zstd removes
// most of them (the compacted 10M-record bench lake is 13% smaller than with
// those dictionaries). TestColumnEncodings pins this.

// VideoRow is one row of the videos table: the snippet and contentDetails of
// one video observed at fetched_at. Statistics live in video_stats.
type VideoRow struct {
	ID                   string    `parquet:"id"`
	ChannelID            string    `parquet:"channel_id,optional,dict"`
	FetchedAt            time.Time `parquet:"fetched_at,timestamp(microsecond:utc)"`
	ETag                 string    `parquet:"etag,optional"`
	PublishedAt          time.Time `parquet:"published_at,optional,timestamp(microsecond:utc)"`
	Title                string    `parquet:"title,optional"`
	Description          string    `parquet:"description,optional"`
	ChannelTitle         string    `parquet:"channel_title,optional,dict"`
	Tags                 []string  `parquet:"tags,list"`
	CategoryID           string    `parquet:"category_id,optional,dict"`
	DefaultLanguage      string    `parquet:"default_language,optional,dict"`
	DefaultAudioLanguage string    `parquet:"default_audio_language,optional,dict"`
	LiveBroadcastContent string    `parquet:"live_broadcast_content,optional,dict"`
	ThumbnailURL         string    `parquet:"thumbnail_url,optional"`
	ThumbnailWidth       *int32    `parquet:"thumbnail_width,optional"`
	ThumbnailHeight      *int32    `parquet:"thumbnail_height,optional"`
	Duration             string    `parquet:"duration,optional,dict"`
	DurationSeconds      *int64    `parquet:"duration_seconds,optional"`
	Dimension            string    `parquet:"dimension,optional,dict"`
	Definition           string    `parquet:"definition,optional,dict"`
	Caption              *bool     `parquet:"caption,optional"`
	LicensedContent      bool      `parquet:"licensed_content"`
	RecordID             string    `parquet:"record_id"`
	SchemaVersion        int32     `parquet:"schema_version"`
	Source               string    `parquet:"source,dict"`
}

// VideoStatsRow is one row of the video_stats time series.
type VideoStatsRow struct {
	VideoID       string    `parquet:"video_id"`
	ChannelID     string    `parquet:"channel_id,optional,dict"`
	FetchedAt     time.Time `parquet:"fetched_at,timestamp(microsecond:utc)"`
	ViewCount     *int64    `parquet:"view_count,optional"`
	LikeCount     *int64    `parquet:"like_count,optional"`
	CommentCount  *int64    `parquet:"comment_count,optional"`
	RecordID      string    `parquet:"record_id"`
	SchemaVersion int32     `parquet:"schema_version"`
	Source        string    `parquet:"source,dict"`
}

// ChannelRow is one row of the channels table: channel metadata observed at fetched_at.
type ChannelRow struct {
	ID                string    `parquet:"id"`
	FetchedAt         time.Time `parquet:"fetched_at,timestamp(microsecond:utc)"`
	ETag              string    `parquet:"etag,optional"`
	Title             string    `parquet:"title,optional"`
	Description       string    `parquet:"description,optional"`
	CustomURL         string    `parquet:"custom_url,optional"`
	PublishedAt       time.Time `parquet:"published_at,optional,timestamp(microsecond:utc)"`
	ThumbnailURL      string    `parquet:"thumbnail_url,optional"`
	ThumbnailWidth    *int32    `parquet:"thumbnail_width,optional"`
	ThumbnailHeight   *int32    `parquet:"thumbnail_height,optional"`
	DefaultLanguage   string    `parquet:"default_language,optional,dict"`
	Country           string    `parquet:"country,optional,dict"`
	UploadsPlaylistID string    `parquet:"uploads_playlist_id,optional"`
	RecordID          string    `parquet:"record_id"`
	SchemaVersion     int32     `parquet:"schema_version"`
	Source            string    `parquet:"source,dict"`
}

// ChannelStatsRow is one row of the channel_stats time series.
type ChannelStatsRow struct {
	ChannelID             string    `parquet:"channel_id"`
	FetchedAt             time.Time `parquet:"fetched_at,timestamp(microsecond:utc)"`
	SubscriberCount       *int64    `parquet:"subscriber_count,optional"`
	ViewCount             *int64    `parquet:"view_count,optional"`
	VideoCount            *int64    `parquet:"video_count,optional"`
	HiddenSubscriberCount bool      `parquet:"hidden_subscriber_count"`
	RecordID              string    `parquet:"record_id"`
	SchemaVersion         int32     `parquet:"schema_version"`
	Source                string    `parquet:"source,dict"`
}

// EventRow is one row of the events table (changes, milestones, tombstones).
type EventRow struct {
	EventType     string    `parquet:"event_type,dict"`
	EntityKind    string    `parquet:"entity_kind,dict"`
	EntityID      string    `parquet:"entity_id,dict"`
	ChannelID     string    `parquet:"channel_id,optional,dict"`
	OldValue      string    `parquet:"old_value,optional"`
	NewValue      string    `parquet:"new_value,optional"`
	ObservedAt    time.Time `parquet:"observed_at,timestamp(microsecond:utc)"`
	RecordID      string    `parquet:"record_id"`
	SchemaVersion int32     `parquet:"schema_version"`
	Source        string    `parquet:"source,dict"`
}

// rowType ties a row struct to its table: how rows sort, where they are
// routed and which record they came from.
type rowType interface {
	VideoRow | VideoStatsRow | ChannelRow | ChannelStatsRow | EventRow
}

// tableSpec is the static description of one table.
type tableSpec struct {
	name    string
	schema  *parquet.Schema
	sorting []parquet.SortingColumn
	// noStats lists free-text columns whose min/max statistics are useless.
	noStats []string
}

var specs = map[string]tableSpec{
	TableVideos: {
		name: TableVideos, schema: tableSchema(TableVideos, VideoRow{}),
		sorting: asc("channel_id", "id", "fetched_at", "record_id"),
		noStats: []string{"description", "title", "thumbnail_url", "etag"},
	},
	TableVideoStats: {
		name: TableVideoStats, schema: tableSchema(TableVideoStats, VideoStatsRow{}),
		sorting: asc("channel_id", "video_id", "fetched_at", "record_id"),
	},
	TableChannels: {
		name: TableChannels, schema: tableSchema(TableChannels, ChannelRow{}),
		sorting: asc("id", "fetched_at", "record_id"),
		noStats: []string{"description", "title", "thumbnail_url", "etag"},
	},
	TableChannelStats: {
		name: TableChannelStats, schema: tableSchema(TableChannelStats, ChannelStatsRow{}),
		sorting: asc("channel_id", "fetched_at", "record_id"),
	},
	TableEvents: {
		name: TableEvents, schema: tableSchema(TableEvents, EventRow{}),
		sorting: asc("entity_id", "observed_at", "record_id"),
		noStats: []string{"old_value", "new_value"},
	},
}

// tableSchema names the schema's root after the table (readers show it).
func tableSchema(table string, model any) *parquet.Schema {
	return parquet.NewSchema(table, parquet.SchemaOf(model))
}

func asc(cols ...string) []parquet.SortingColumn {
	out := make([]parquet.SortingColumn, len(cols))
	for i, c := range cols {
		out[i] = parquet.Ascending(c)
	}
	return out
}

// Schema returns the Parquet schema of a table (nil for an unknown table).
func Schema(table string) *parquet.Schema {
	s, ok := specs[table]
	if !ok {
		return nil
	}
	return s.schema
}

// Row keys: the comparison used to sort rows within a file and to merge
// files during compaction. Equal keys mean the same record (record_id is the
// last component), which is how compaction drops duplicate copies.

func cmpVideo(a, b *VideoRow) int {
	if c := strings.Compare(a.ChannelID, b.ChannelID); c != 0 {
		return c
	}
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := a.FetchedAt.Compare(b.FetchedAt); c != 0 {
		return c
	}
	return strings.Compare(a.RecordID, b.RecordID)
}

func cmpVideoStats(a, b *VideoStatsRow) int {
	if c := strings.Compare(a.ChannelID, b.ChannelID); c != 0 {
		return c
	}
	if c := strings.Compare(a.VideoID, b.VideoID); c != 0 {
		return c
	}
	if c := a.FetchedAt.Compare(b.FetchedAt); c != 0 {
		return c
	}
	return strings.Compare(a.RecordID, b.RecordID)
}

func cmpChannel(a, b *ChannelRow) int {
	if c := strings.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := a.FetchedAt.Compare(b.FetchedAt); c != 0 {
		return c
	}
	return strings.Compare(a.RecordID, b.RecordID)
}

func cmpChannelStats(a, b *ChannelStatsRow) int {
	if c := strings.Compare(a.ChannelID, b.ChannelID); c != 0 {
		return c
	}
	if c := a.FetchedAt.Compare(b.FetchedAt); c != 0 {
		return c
	}
	return strings.Compare(a.RecordID, b.RecordID)
}

func cmpEvent(a, b *EventRow) int {
	if c := strings.Compare(a.EntityID, b.EntityID); c != 0 {
		return c
	}
	if c := a.ObservedAt.Compare(b.ObservedAt); c != 0 {
		return c
	}
	return strings.Compare(a.RecordID, b.RecordID)
}

// rowMeta gives generic code access to what every row has.
func rowMeta[T rowType](r *T) (recordID string, at time.Time) {
	switch v := any(r).(type) {
	case *VideoRow:
		return v.RecordID, v.FetchedAt
	case *VideoStatsRow:
		return v.RecordID, v.FetchedAt
	case *ChannelRow:
		return v.RecordID, v.FetchedAt
	case *ChannelStatsRow:
		return v.RecordID, v.FetchedAt
	case *EventRow:
		return v.RecordID, v.ObservedAt
	}
	panic("unreachable")
}

func rowCmp[T rowType]() func(a, b *T) int {
	var z T
	switch any(z).(type) {
	case VideoRow:
		return any(cmpVideo).(func(a, b *T) int)
	case VideoStatsRow:
		return any(cmpVideoStats).(func(a, b *T) int)
	case ChannelRow:
		return any(cmpChannel).(func(a, b *T) int)
	case ChannelStatsRow:
		return any(cmpChannelStats).(func(a, b *T) int)
	case EventRow:
		return any(cmpEvent).(func(a, b *T) int)
	}
	panic("unreachable")
}

// sortIndex sorts idx (indexes into rows) by the rows' table key and drops
// indexes of duplicate records (equal keys: same record_id), in place.
// Rows are wide structs: sorting indexes and gathering each row once when
// it is written is several times faster than sorting the rows themselves.
func sortIndex[T rowType](rows []T, idx []int32) []int32 {
	c := rowCmp[T]()
	slices.SortFunc(idx, func(a, b int32) int { return c(&rows[a], &rows[b]) })
	out := idx[:0]
	for k, i := range idx {
		if k > 0 && c(&rows[out[len(out)-1]], &rows[i]) == 0 {
			continue
		}
		out = append(out, i)
	}
	return out
}

// Conversions from the envelope.

func videoRows(r *yt.Record, sc *scalars) (VideoRow, VideoStatsRow) {
	v := r.Video
	at := yt.TruncMicros(v.FetchedAt)
	vr := VideoRow{
		ID:                   v.ID,
		ChannelID:            v.Snippet.ChannelID,
		FetchedAt:            at,
		ETag:                 v.ETag,
		PublishedAt:          truncOrZero(v.Snippet.PublishedAt),
		Title:                v.Snippet.Title,
		Description:          v.Snippet.Description,
		ChannelTitle:         v.Snippet.ChannelTitle,
		Tags:                 v.Snippet.Tags,
		CategoryID:           v.Snippet.CategoryID,
		DefaultLanguage:      v.Snippet.DefaultLanguage,
		DefaultAudioLanguage: v.Snippet.DefaultAudioLanguage,
		LiveBroadcastContent: v.Snippet.LiveBroadcastContent,
		ThumbnailURL:         v.Snippet.Thumbnail.URL,
		ThumbnailWidth:       sc.optInt32(v.Snippet.Thumbnail.Width),
		ThumbnailHeight:      sc.optInt32(v.Snippet.Thumbnail.Height),
		Duration:             v.ContentDetails.Duration,
		Dimension:            v.ContentDetails.Dimension,
		Definition:           v.ContentDetails.Definition,
		Caption:              sc.parseCaption(v.ContentDetails.Caption),
		LicensedContent:      v.ContentDetails.LicensedContent,
		RecordID:             r.ID,
		SchemaVersion:        int32(r.V),
		Source:               r.Source,
	}
	if d, ok := ParseISODuration(v.ContentDetails.Duration); ok {
		vr.DurationSeconds = sc.int64(int64(d / time.Second))
	}
	if vr.Tags == nil {
		vr.Tags = []string{}
	}
	sr := VideoStatsRow{
		VideoID:       v.ID,
		ChannelID:     v.Snippet.ChannelID,
		FetchedAt:     at,
		ViewCount:     sc.clonePtr(v.Statistics.ViewCount),
		LikeCount:     sc.clonePtr(v.Statistics.LikeCount),
		CommentCount:  sc.clonePtr(v.Statistics.CommentCount),
		RecordID:      r.ID,
		SchemaVersion: int32(r.V),
		Source:        r.Source,
	}
	return vr, sr
}

func channelRows(r *yt.Record, sc *scalars) (ChannelRow, ChannelStatsRow) {
	c := r.Channel
	at := yt.TruncMicros(c.FetchedAt)
	cr := ChannelRow{
		ID:                c.ID,
		FetchedAt:         at,
		ETag:              c.ETag,
		Title:             c.Snippet.Title,
		Description:       c.Snippet.Description,
		CustomURL:         c.Snippet.CustomURL,
		PublishedAt:       truncOrZero(c.Snippet.PublishedAt),
		ThumbnailURL:      c.Snippet.Thumbnail.URL,
		ThumbnailWidth:    sc.optInt32(c.Snippet.Thumbnail.Width),
		ThumbnailHeight:   sc.optInt32(c.Snippet.Thumbnail.Height),
		DefaultLanguage:   c.Snippet.DefaultLanguage,
		Country:           c.Snippet.Country,
		UploadsPlaylistID: c.ContentDetails.UploadsPlaylistID,
		RecordID:          r.ID,
		SchemaVersion:     int32(r.V),
		Source:            r.Source,
	}
	sr := ChannelStatsRow{
		ChannelID:             c.ID,
		FetchedAt:             at,
		SubscriberCount:       sc.clonePtr(c.Statistics.SubscriberCount),
		ViewCount:             sc.clonePtr(c.Statistics.ViewCount),
		VideoCount:            sc.clonePtr(c.Statistics.VideoCount),
		HiddenSubscriberCount: c.Statistics.HiddenSubscriberCount,
		RecordID:              r.ID,
		SchemaVersion:         int32(r.V),
		Source:                r.Source,
	}
	if sr.HiddenSubscriberCount {
		// The API sends no subscriberCount when hidden; never store a stale one.
		sr.SubscriberCount = nil
	}
	return cr, sr
}

func eventRow(r *yt.Record) EventRow {
	e := r.Event
	return EventRow{
		EventType:     string(e.Type),
		EntityKind:    string(e.EntityKind),
		EntityID:      e.EntityID,
		ChannelID:     e.ChannelID,
		OldValue:      e.Old,
		NewValue:      e.New,
		ObservedAt:    yt.TruncMicros(e.ObservedAt),
		RecordID:      r.ID,
		SchemaVersion: int32(r.V),
		Source:        r.Source,
	}
}

func truncOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return yt.TruncMicros(t)
}

// scalars hands out the pointers of optional scalar columns from slabs,
// a few allocations per batch instead of several per row. A nil *scalars
// allocates each value on its own.
type scalars struct {
	i64   []int64
	i32   []int32
	bools []bool
}

const scalarSlab = 1024

func (sc *scalars) int64(v int64) *int64 {
	if sc == nil {
		p := new(int64)
		*p = v
		return p
	}
	if len(sc.i64) == cap(sc.i64) {
		sc.i64 = make([]int64, 0, scalarSlab)
	}
	sc.i64 = append(sc.i64, v)
	return &sc.i64[len(sc.i64)-1]
}

func (sc *scalars) int32(v int32) *int32 {
	if sc == nil {
		p := new(int32)
		*p = v
		return p
	}
	if len(sc.i32) == cap(sc.i32) {
		sc.i32 = make([]int32, 0, scalarSlab)
	}
	sc.i32 = append(sc.i32, v)
	return &sc.i32[len(sc.i32)-1]
}

func (sc *scalars) bool(v bool) *bool {
	if sc == nil {
		p := new(bool)
		*p = v
		return p
	}
	if len(sc.bools) == cap(sc.bools) {
		sc.bools = make([]bool, 0, scalarSlab)
	}
	sc.bools = append(sc.bools, v)
	return &sc.bools[len(sc.bools)-1]
}

func (sc *scalars) optInt32(n int) *int32 {
	if n == 0 {
		return nil
	}
	return sc.int32(int32(n))
}

func (sc *scalars) clonePtr(p *int64) *int64 {
	if p == nil {
		return nil
	}
	return sc.int64(*p)
}

func (sc *scalars) parseCaption(s string) *bool {
	switch s {
	case "true":
		return sc.bool(true)
	case "false":
		return sc.bool(false)
	}
	return nil
}

// Column describes one column of a table in engine-neutral terms, for
// readers that must declare the schema (empty views, external table DDL).
type Column struct {
	Name string
	// Type is one of: string, int32, int64, bool, timestamp_us (UTC-adjusted
	// microseconds), list<string>.
	Type     string
	Nullable bool
}

// Columns returns the columns of a table in file order (nil if unknown).
func Columns(table string) []Column {
	s := Schema(table)
	if s == nil {
		return nil
	}
	var out []Column
	for _, f := range s.Fields() {
		out = append(out, Column{Name: f.Name(), Type: columnType(f), Nullable: f.Optional()})
	}
	return out
}

func columnType(f parquet.Field) string {
	var lv format.LogicalTypeValue
	if lt := f.Type().LogicalType(); lt != nil {
		lv = lt.Value
	}
	if !f.Leaf() {
		if _, ok := lv.(*format.ListType); ok {
			return "list<string>"
		}
		panic("lake: unsupported group column " + f.Name())
	}
	switch lv.(type) {
	case *format.TimestampType:
		return "timestamp_us"
	case *format.StringType:
		return "string"
	}
	switch f.Type().Kind() {
	case parquet.Boolean:
		return "bool"
	case parquet.Int32:
		return "int32"
	case parquet.Int64:
		return "int64"
	case parquet.ByteArray:
		return "string"
	}
	panic("lake: unsupported column type " + f.Name())
}
