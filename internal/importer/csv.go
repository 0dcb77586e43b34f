package importer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// Column lists of the CSV formats, in file order.
var (
	rsrishavColumns = []string{"video_id", "title", "publishedAt", "channelId", "channelTitle", "categoryId",
		"trending_date", "tags", "view_count", "likes", "dislikes", "comment_count", "thumbnail_link",
		"comments_disabled", "ratings_disabled", "description"}
	datasnaekColumns = []string{"video_id", "trending_date", "title", "channel_title", "category_id",
		"publish_time", "tags", "views", "likes", "dislikes", "comment_count", "thumbnail_link",
		"comments_disabled", "ratings_disabled", "video_error_or_removed", "description"}
	mostPopularColumns = []string{"region", "video_id", "title", "channel_id", "channel_name", "published_at",
		"view_count", "like_count", "comment_count", "thumbnail_url", "last_seen_date", "first_seen_date",
		"days_seen", "category_keys", "record_date"}
)

// csvFormat converts one CSV row to a video.
type csvFormat struct {
	name     string
	required []string // columns that must be present in a header
	convert  func(get func(string) string) (*yt.Video, error)
}

var (
	rsrishavFormat    = csvFormat{FormatRsrishav, rsrishavColumns, rsrishavRow}
	datasnaekFormat   = csvFormat{FormatDatasnaek, datasnaekColumns, datasnaekRow}
	mostPopularFormat = csvFormat{FormatMostPopular, []string{"video_id", "title", "channel_id", "channel_name",
		"published_at", "view_count", "like_count", "comment_count", "record_date"}, mostPopularRow}
)

// readCSV reads one of the trending CSV formats: with a header (columns are
// found by name, so extra or reordered columns are fine) or, for the two
// 16-column Kaggle formats, without one.
func readCSV(ctx context.Context, r io.Reader, s *sink) error {
	er := &errReader{r: r}
	cr := csv.NewReader(er)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var (
		format csvFormat
		cols   map[string]int
		width  int
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line := 1
		if err == nil {
			line, _ = cr.FieldPos(0)
		}
		if er.err != nil {
			return er.err // a partial record before a read error is not a bad record
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.StartLine
			if cols == nil {
				return &LineError{File: s.file, Line: line, Err: fmt.Errorf("cannot detect the CSV format: %w", pe.Err)}
			}
			if serr := s.step(); serr != nil {
				return serr
			}
			if berr := s.bad(line, fmt.Errorf("malformed CSV: %w", pe.Err)); berr != nil {
				return berr
			}
			continue
		}
		if err != nil {
			return err
		}
		if cols == nil { // first record: header or sniffed headerless data
			var isHeader bool
			format, cols, isHeader, err = detectCSV(rec)
			if err != nil {
				return &LineError{File: s.file, Line: line, Err: err}
			}
			width = len(rec)
			s.setFormat(format.name)
			if isHeader {
				continue
			}
		}
		if err := s.step(); err != nil {
			return err
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line inside quotes-free input
		}
		if len(rec) != width {
			if berr := s.bad(line, fmt.Errorf("got %d fields, want %d", len(rec), width)); berr != nil {
				return berr
			}
			continue
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok {
				return rec[i]
			}
			return ""
		}
		v, err := format.convert(get)
		if err != nil {
			vid := clip(get("video_id"))
			if berr := s.bad(line, fmt.Errorf("video %q: %w", vid, err)); berr != nil {
				return berr
			}
			continue
		}
		if err := s.addVideo(line, v); err != nil {
			return err
		}
	}
}

// errReader remembers the first read error other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

// detectCSV recognises the first record of a CSV input.
func detectCSV(rec []string) (f csvFormat, cols map[string]int, isHeader bool, err error) {
	names := make(map[string]int, len(rec))
	for i, n := range rec {
		names[strings.TrimSpace(n)] = i
	}
	has := func(n string) bool { _, ok := names[n]; return ok }
	if has("video_id") {
		switch {
		case has("publishedAt") && has("trending_date"):
			f = rsrishavFormat
		case has("publish_time") && has("trending_date"):
			f = datasnaekFormat
		case has("record_date"):
			f = mostPopularFormat
		}
		if f.name != "" {
			for _, c := range f.required {
				if !has(c) {
					return f, nil, true, fmt.Errorf("%s header without column %q", f.name, c)
				}
			}
			return f, names, true, nil
		}
	}
	// Headerless: sniff the 16-column Kaggle layouts from the values.
	if len(rec) == 16 && yt.ValidateVideoID(rec[0]) == nil {
		if _, e1 := time.Parse(time.RFC3339, rec[2]); e1 == nil {
			if _, e2 := time.Parse(time.RFC3339, rec[6]); e2 == nil {
				f = rsrishavFormat
				f.name = FormatRsrishavNH
				return f, index(rsrishavColumns), false, nil
			}
		}
		if _, e1 := time.Parse("06.02.01", rec[1]); e1 == nil {
			f = datasnaekFormat
			f.name = FormatDatasnaekNH
			return f, index(datasnaekColumns), false, nil
		}
	}
	return f, nil, false, fmt.Errorf("unrecognised input: not JSON, and the first CSV record is neither a known header (%s | %s | %s) nor a headerless Kaggle trending row",
		strings.Join(rsrishavColumns[:4], ",")+",...", strings.Join(datasnaekColumns[:4], ",")+",...", strings.Join(mostPopularColumns[:4], ",")+",...")
}

func index(cols []string) map[string]int {
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		m[c] = i
	}
	return m
}

// rsrishavRow converts a row of the newer Kaggle format. The observation time
// is trending_date; likes/comments are hidden (nil) when ratings/comments
// are disabled, as the API does. Dislikes are not kept (the model has none).
func rsrishavRow(get func(string) string) (*yt.Video, error) {
	v := &yt.Video{ID: get("video_id")}
	if err := yt.ValidateVideoID(v.ID); err != nil {
		return nil, err
	}
	var err error
	if v.FetchedAt, err = parseTime("trending_date", get("trending_date")); err != nil {
		return nil, err
	}
	if v.Snippet.PublishedAt, err = parseTime("publishedAt", get("publishedAt")); err != nil {
		return nil, err
	}
	v.Snippet.Title = validUTF8(get("title"))
	v.Snippet.ChannelID = validUTF8(get("channelId"))
	v.Snippet.ChannelTitle = validUTF8(get("channelTitle"))
	v.Snippet.CategoryID = validUTF8(get("categoryId"))
	v.Snippet.Tags = cleanTags(splitTags(get("tags")))
	v.Snippet.Thumbnail = yt.Thumbnail{URL: validUTF8(get("thumbnail_link"))}
	v.Snippet.Description = validUTF8(get("description"))
	err = csvStats(v, get, "view_count", "likes", "comment_count")
	return v, err
}

// datasnaekRow converts a row of the original Kaggle format. It has no
// channel id: Snippet.ChannelID stays empty (nothing is made up).
// trending_date is yy.dd.mm and taken as 00:00 UTC of that day.
func datasnaekRow(get func(string) string) (*yt.Video, error) {
	v := &yt.Video{ID: get("video_id")}
	if err := yt.ValidateVideoID(v.ID); err != nil {
		return nil, err
	}
	var err error
	if v.FetchedAt, err = parseLayout("trending_date", get("trending_date"), "06.02.01", "yy.dd.mm like 17.14.11"); err != nil {
		return nil, err
	}
	if v.Snippet.PublishedAt, err = parseTime("publish_time", get("publish_time")); err != nil {
		return nil, err
	}
	if _, err := parseBool("video_error_or_removed", get("video_error_or_removed")); err != nil {
		return nil, err
	}
	v.Snippet.Title = validUTF8(get("title"))
	v.Snippet.ChannelTitle = validUTF8(get("channel_title"))
	v.Snippet.CategoryID = validUTF8(get("category_id"))
	v.Snippet.Tags = cleanTags(splitTags(get("tags")))
	v.Snippet.Thumbnail = yt.Thumbnail{URL: validUTF8(get("thumbnail_link"))}
	v.Snippet.Description = validUTF8(get("description"))
	err = csvStats(v, get, "views", "likes", "comment_count")
	return v, err
}

// csvStats fills the statistics of a Kaggle row.
func csvStats(v *yt.Video, get func(string) string, views, likes, comments string) error {
	var err error
	if v.Statistics.ViewCount, err = parseCount(views, get(views)); err != nil {
		return err
	}
	if v.Statistics.LikeCount, err = parseCount(likes, get(likes)); err != nil {
		return err
	}
	if v.Statistics.CommentCount, err = parseCount(comments, get(comments)); err != nil {
		return err
	}
	if _, err := parseCount("dislikes", get("dislikes")); err != nil {
		return err
	}
	ratingsOff, err := parseBool("ratings_disabled", get("ratings_disabled"))
	if err != nil {
		return err
	}
	commentsOff, err := parseBool("comments_disabled", get("comments_disabled"))
	if err != nil {
		return err
	}
	if ratingsOff {
		v.Statistics.LikeCount = nil
	}
	if commentsOff {
		v.Statistics.CommentCount = nil
	}
	return nil
}

// mostPopularCategories maps the category keys of kr-jp-us-mostpopular to
// YouTube video category ids.
var mostPopularCategories = map[string]string{
	"film": "1", "autos": "2", "music": "10", "pets": "15", "sports": "17", "travel": "19",
	"gaming": "20", "people": "22", "comedy": "23", "entertainment": "24", "news": "25",
	"howto": "26", "education": "27", "science": "28",
}

// mostPopularRow converts a row of kr-jp-us-mostpopular videos_latest.csv.
// The values come from that day's chart file, so the observation time is
// record_date at 00:00 UTC. The category id is set only when the video was
// charted in exactly one category.
func mostPopularRow(get func(string) string) (*yt.Video, error) {
	v := &yt.Video{ID: get("video_id")}
	if err := yt.ValidateVideoID(v.ID); err != nil {
		return nil, err
	}
	var err error
	if v.FetchedAt, err = parseLayout("record_date", get("record_date"), "2006-01-02", "YYYY-MM-DD"); err != nil {
		return nil, err
	}
	if v.Snippet.PublishedAt, err = parseTime("published_at", get("published_at")); err != nil {
		return nil, err
	}
	v.Snippet.Title = validUTF8(get("title"))
	v.Snippet.ChannelID = validUTF8(get("channel_id"))
	v.Snippet.ChannelTitle = validUTF8(get("channel_name"))
	v.Snippet.Thumbnail = yt.Thumbnail{URL: validUTF8(get("thumbnail_url"))}
	var cat string
	for _, k := range strings.Split(get("category_keys"), "|") {
		if id, ok := mostPopularCategories[strings.TrimSpace(k)]; ok {
			if cat != "" && cat != id {
				cat = ""
				break
			}
			cat = id
		}
	}
	v.Snippet.CategoryID = cat
	if v.Statistics.ViewCount, err = parseCount("view_count", get("view_count")); err != nil {
		return nil, err
	}
	if v.Statistics.LikeCount, err = parseCount("like_count", get("like_count")); err != nil {
		return nil, err
	}
	if v.Statistics.CommentCount, err = parseCount("comment_count", get("comment_count")); err != nil {
		return nil, err
	}
	return v, nil
}
