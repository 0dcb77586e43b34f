package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tubelake/tubelake/internal/durable"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/yt"
)

// RebuildStats describes an index rebuilt from the lake.
type RebuildStats struct {
	Channels, Videos, Events int     // records applied
	Docs                     int     // searchable videos in the new index
	Checkpoint               uint64  // the lake's checkpoint: the stream sequence the index continues after
	Seconds                  float64 // wall time
	Bytes                    int64   // the new index snapshot
}

// rebuildBatch is the records per index.Apply of a rebuild.
const rebuildBatch = 10_000

// RebuildOptions configures RebuildIndex.
type RebuildOptions struct {
	DataDir string // the pipeline's data directory: the index is rebuilt in DataDir/index
	// LakeURL is the lake (default DataDir/lake); an object-store lake is
	// mirrored into Cache (default DataDir/lake-mirror) for DuckDB.
	LakeURL, Cache string
	Logger         *slog.Logger
	Progress       func(format string, args ...any) // a line every few seconds; may be nil
}

// RebuildIndex rebuilds the search index of the pipeline in o.DataDir from
// its lake: the index is derived state. It reads, through DuckDB, the
// latest snapshot of every channel and video (with the statistics of that
// snapshot) and every event, applies them to a new index (Apply is
// idempotent and keeps the newest state, so this equals applying the whole
// history), writes it as a full snapshot whose checkpoint is the lake's
// (the stream sequence every record up to which is in the lake), and then
// replaces the index directory: the index consumer goes on after that
// sequence when the pipeline starts. The pipeline must not be running.
func RebuildIndex(ctx context.Context, o RebuildOptions) (RebuildStats, error) {
	var st RebuildStats
	start := time.Now()
	progress, log, dataDir := o.Progress, o.Logger, o.DataDir
	if progress == nil {
		progress = func(string, ...any) {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lakeURL := o.LakeURL
	if lakeURL == "" {
		lakeURL = filepath.Join(dataDir, "lake")
		if _, err := os.Stat(lakeURL); err != nil {
			return st, fmt.Errorf("index rebuild: no lake in %s: %w", dataDir, err)
		}
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	// A running pipeline holds the lock: the index it serves is not
	// replaced under it.
	lock, err := lockDataDir(dataDir)
	if err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	defer lock.Close()
	// The checkpoint first: records the lake gets after it (none, with
	// the pipeline stopped) would be replayed from the stream anyway.
	lk, err := lake.Open(ctx, lakeURL, lake.Options{Logger: log})
	if err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	cp, _, err := lk.ReadCheckpoint(ctx, lakeConsumer)
	lakeDir := lk.LocalDir()
	if err == nil && lakeDir == "" {
		lakeDir = o.Cache
		if lakeDir == "" {
			lakeDir = filepath.Join(dataDir, "lake-mirror")
		}
		var ms lake.MirrorStats
		if ms, err = lk.Mirror(ctx, lakeDir); err == nil {
			progress("index rebuild: mirrored the lake into %s: %d files, %d downloaded (%d bytes)", lakeDir, ms.Files, ms.Downloaded, ms.Bytes)
		}
	}
	lk.Close()
	if err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	st.Checkpoint = cp.Seq
	db, err := lakesql.Open(ctx, lakeDir)
	if err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	defer db.Close()

	final := filepath.Join(dataDir, "index")
	tmp := final + ".rebuild"
	if err := os.RemoveAll(tmp); err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	ix, err := index.Open(tmp, index.Options{Logger: log})
	if err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	defer func() {
		ix.Close()
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	recs := make([]yt.Record, 0, rebuildBatch)
	last := time.Now()
	apply := func() error {
		if len(recs) == 0 {
			return nil
		}
		if err := ix.Apply(ctx, recs); err != nil {
			return err
		}
		recs = recs[:0]
		if time.Since(last) > 2*time.Second {
			last = time.Now()
			n := st.Channels + st.Videos + st.Events
			progress("index rebuild: %d channels, %d videos, %d events applied (%.0f records/s)",
				st.Channels, st.Videos, st.Events, float64(n)/time.Since(start).Seconds())
		}
		return nil
	}
	each := func(q string, conv func(row []any) yt.Record, count *int) error {
		err := db.Each(ctx, q, func(row []any) error {
			recs = append(recs, conv(row))
			*count++
			if len(recs) == rebuildBatch {
				return apply()
			}
			return nil
		})
		if err != nil {
			return err
		}
		return apply()
	}
	if err = each(channelsSQL, channelRecord, &st.Channels); err != nil {
		return st, fmt.Errorf("index rebuild: channels: %w", err)
	}
	if err = each(videosSQL, videoRecord, &st.Videos); err != nil {
		return st, fmt.Errorf("index rebuild: videos: %w", err)
	}
	if err = each(eventsSQL, eventRecord, &st.Events); err != nil {
		return st, fmt.Errorf("index rebuild: events: %w", err)
	}
	if err = ix.FlushFull(ctx, st.Checkpoint); err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	ixs := ix.Stats()
	st.Docs, st.Bytes = ixs.Docs, ixs.SnapBytes
	if err = ix.Close(); err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	// The marker says the new index is complete: from here on, a crash
	// is finished by the next start (finishRebuild) instead of lost.
	if err = writeMarker(filepath.Join(tmp, rebuiltMarker)); err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	if err = finishRebuild(dataDir); err != nil {
		return st, fmt.Errorf("index rebuild: %w", err)
	}
	st.Seconds = time.Since(start).Seconds()
	return st, nil
}

// rebuiltMarker marks a complete rebuilt index in <data>/index.rebuild.
const rebuiltMarker = "REBUILT"

func writeMarker(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(path))
}

// finishRebuild puts a complete rebuilt index (<data>/index.rebuild with
// its marker) in place of <data>/index, which goes to index.old and then
// away; a rebuild that did not complete is removed. RebuildIndex ends with
// it, and pipeline.Open runs it first, so a crash at any point of a
// rebuild leaves either the old index or the new one, never none.
func finishRebuild(dataDir string) error {
	final := filepath.Join(dataDir, "index")
	tmp, old := final+".rebuild", final+".old"
	if _, err := os.Stat(filepath.Join(tmp, rebuiltMarker)); err == nil {
		if err := os.RemoveAll(old); err != nil {
			return err
		}
		if err := os.Rename(final, old); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Rename(tmp, final); err != nil {
			return err
		}
		if err := durable.SyncDir(dataDir); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(final, rebuiltMarker)); err != nil {
			return err
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.RemoveAll(tmp); err != nil { // an incomplete rebuild
		return err
	}
	return os.RemoveAll(old)
}

// The latest snapshot of each entity (the views keep the newest row per
// id), with the statistics row of that same record.
const (
	videosSQL = `SELECT v.id, v.etag, v.fetched_at, v.published_at, v.channel_id, v.title, v.description, v.channel_title,
	v.tags, v.category_id, v.default_language, v.default_audio_language, v.live_broadcast_content,
	v.thumbnail_url, v.thumbnail_width, v.thumbnail_height, v.duration, v.dimension, v.definition, v.caption,
	v.licensed_content, v.record_id, v.schema_version, v.source, s.view_count, s.like_count, s.comment_count
FROM videos v LEFT JOIN (SELECT record_id, view_count, like_count, comment_count FROM video_stats) s USING (record_id)`
	channelsSQL = `SELECT c.id, c.etag, c.fetched_at, c.title, c.description, c.custom_url, c.published_at,
	c.thumbnail_url, c.thumbnail_width, c.thumbnail_height, c.default_language, c.country, c.uploads_playlist_id,
	c.record_id, c.schema_version, c.source, s.subscriber_count, s.view_count, s.video_count, s.hidden_subscriber_count
FROM channels c LEFT JOIN (SELECT record_id, subscriber_count, view_count, video_count, hidden_subscriber_count FROM channel_stats) s USING (record_id)`
	// Milestones change nothing the index keeps.
	eventsSQL = `SELECT event_type, entity_kind, entity_id, channel_id, old_value, new_value, observed_at, record_id, schema_version, source
FROM events WHERE event_type <> 'milestone'`
)

func videoRecord(r []any) yt.Record {
	v := &yt.Video{
		ID: str(r[0]), ETag: str(r[1]), FetchedAt: tm(r[2]),
		Snippet: yt.VideoSnippet{
			PublishedAt: tm(r[3]), ChannelID: str(r[4]), Title: str(r[5]), Description: str(r[6]), ChannelTitle: str(r[7]),
			Tags: strs(r[8]), CategoryID: str(r[9]), DefaultLanguage: str(r[10]), DefaultAudioLanguage: str(r[11]),
			LiveBroadcastContent: str(r[12]),
			Thumbnail:            yt.Thumbnail{URL: str(r[13]), Width: num(r[14]), Height: num(r[15])},
		},
		ContentDetails: yt.VideoContentDetails{Duration: str(r[16]), Dimension: str(r[17]), Definition: str(r[18]), LicensedContent: r[20] == true},
		Statistics:     yt.VideoStatistics{ViewCount: i64(r[24]), LikeCount: i64(r[25]), CommentCount: i64(r[26])},
	}
	if c, ok := r[19].(bool); ok {
		v.ContentDetails.Caption = fmt.Sprint(c)
	}
	return yt.Record{V: num(r[22]), ID: str(r[21]), Kind: yt.KindVideo, Source: str(r[23]), Video: v}
}

func channelRecord(r []any) yt.Record {
	c := &yt.Channel{
		ID: str(r[0]), ETag: str(r[1]), FetchedAt: tm(r[2]),
		Snippet: yt.ChannelSnippet{
			Title: str(r[3]), Description: str(r[4]), CustomURL: str(r[5]), PublishedAt: tm(r[6]),
			Thumbnail:       yt.Thumbnail{URL: str(r[7]), Width: num(r[8]), Height: num(r[9])},
			DefaultLanguage: str(r[10]), Country: str(r[11]),
		},
		ContentDetails: yt.ChannelContentDetails{UploadsPlaylistID: str(r[12])},
		Statistics:     yt.ChannelStatistics{SubscriberCount: i64(r[16]), ViewCount: i64(r[17]), VideoCount: i64(r[18]), HiddenSubscriberCount: r[19] == true},
	}
	return yt.Record{V: num(r[14]), ID: str(r[13]), Kind: yt.KindChannel, Source: str(r[15]), Channel: c}
}

func eventRecord(r []any) yt.Record {
	e := &yt.Event{Type: yt.EventType(str(r[0])), EntityKind: yt.Kind(str(r[1])), EntityID: str(r[2]), ChannelID: str(r[3]),
		Old: str(r[4]), New: str(r[5]), ObservedAt: tm(r[6])}
	return yt.Record{V: num(r[8]), ID: str(r[7]), Kind: yt.KindEvent, Source: str(r[9]), Event: e}
}

// Row values as lakesql returns them: NULL is nil.
func str(v any) string {
	s, _ := v.(string)
	return s
}

func tm(v any) time.Time {
	t, _ := v.(time.Time)
	return t
}

func num(v any) int {
	n, _ := v.(int64)
	return int(n)
}

func i64(v any) *int64 {
	n, ok := v.(int64)
	if !ok {
		return nil
	}
	return &n
}

func strs(v any) []string {
	l, _ := v.([]any)
	if len(l) == 0 {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, str(e))
	}
	return out
}
