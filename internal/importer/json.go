package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tubelake/tubelake/internal/yt"
)

// maxDocument bounds a JSON input that is not JSONL (it is read whole).
const maxDocument = 1 << 30

// readJSON reads JSONL (one JSON value per line) or, when the input is a
// multi-line JSON document (a pretty-printed list response, an array...),
// the whole document.
func readJSON(ctx context.Context, br *bufio.Reader, s *sink) error {
	mode := FormatAPIJSONL
	defer func() { // an input of bad records only still has a format
		if s.stats.Format == "" {
			s.stats.Format = mode
		}
	}()
	var (
		pending  [][]byte // lines read while deciding the mode
		lineNo   int
		nonBlank []int // indexes in pending of the first two non-blank lines
	)
	for len(nonBlank) < 2 {
		l, err := br.ReadBytes('\n')
		if len(l) > 0 {
			pending = append(pending, l)
			if len(bytes.TrimSpace(l)) > 0 {
				nonBlank = append(nonBlank, len(pending)-1)
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
		if len(nonBlank) == 1 {
			first := bytes.TrimSpace(pending[nonBlank[0]])
			if json.Valid(first) {
				break // JSONL
			}
			if opensDocument(first) {
				break
			}
		}
	}
	jsonl := false
	if len(nonBlank) > 0 {
		first := bytes.TrimSpace(pending[nonBlank[0]])
		switch {
		case json.Valid(first):
			jsonl = true
		case opensDocument(first):
		case len(nonBlank) > 1 && json.Valid(bytes.TrimSpace(pending[nonBlank[1]])):
			jsonl = true // JSONL whose first line is bad
		}
	}
	if !jsonl {
		mode = FormatAPIJSON
		parts := make([]io.Reader, 0, len(pending)+1)
		for _, p := range pending {
			parts = append(parts, bytes.NewReader(p))
		}
		parts = append(parts, br)
		data, err := io.ReadAll(io.LimitReader(io.MultiReader(parts...), maxDocument+1))
		if err != nil {
			return err
		}
		if len(data) > maxDocument {
			return fmt.Errorf("JSON document larger than %d bytes: write it as JSONL (one resource per line)", maxDocument)
		}
		return readDocument(ctx, data, s)
	}
	j := &jsonReader{s: s, format: FormatAPIJSONL}
	handle := func(l []byte) error {
		lineNo++
		if len(bytes.TrimSpace(l)) == 0 {
			return nil
		}
		line := lineNo
		j.lineAt = func(int) int { return line }
		return j.value(l, 0, 0)
	}
	for _, l := range pending {
		if err := handle(l); err != nil {
			return err
		}
	}
	for {
		l, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err // a partial line before a read error is not a bad record
		}
		if len(l) > 0 {
			if herr := handle(l); herr != nil {
				return herr
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// opensDocument reports whether a first line that is not a complete JSON
// value starts a multi-line document rather than being a bad JSONL line.
func opensDocument(first []byte) bool {
	if len(first) == 0 {
		return false
	}
	last := first[len(first)-1]
	return bytes.Equal(first, []byte("{")) || bytes.Equal(first, []byte("[")) ||
		last == ',' || last == ':' || last == '{' || last == '['
}

// jsonSyntaxError describes why a JSONL line is not JSON.
func jsonSyntaxError(l []byte) error {
	var v any
	err := json.Unmarshal(l, &v)
	if err == nil {
		err = errors.New("invalid JSON")
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// readDocument walks a whole JSON document: one or more top-level values,
// each a resource, a list response or an array of them. Items get the line
// where they start. A syntax error is fatal in both modes: nothing after it
// can be located reliably.
func readDocument(ctx context.Context, data []byte, s *sink) error {
	lc := &lineCounter{data: data}
	j := &jsonReader{s: s, format: FormatAPIJSON, lineAt: lc.lineAt}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			off := int(dec.InputOffset())
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = int(se.Offset)
			}
			if off > len(data) {
				off = len(data)
			}
			le := &LineError{File: s.file, Line: lc.lineAt(off), Err: fmt.Errorf("invalid JSON document: %w", err)}
			if ferr := s.flush(); ferr != nil {
				return ferr
			}
			return le
		}
		start := int(dec.InputOffset()) - len(raw)
		if err := j.value(raw, start, 0); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// lineCounter maps byte offsets in data to 1-based line numbers; queries
// are mostly increasing, so it counts incrementally.
type lineCounter struct {
	data []byte
	pos  int
	line int // newlines in data[:pos]
}

func (c *lineCounter) lineAt(off int) int {
	if off < c.pos {
		c.pos, c.line = 0, 0
	}
	if off > len(c.data) {
		off = len(c.data)
	}
	c.line += bytes.Count(c.data[c.pos:off], []byte{'\n'})
	c.pos = off
	return c.line + 1
}

// jsonReader turns JSON values into records.
type jsonReader struct {
	s      *sink
	format string        // format of API resources in this input
	lineAt func(int) int // offset in the input -> line
}

// probe classifies a JSON object.
type probe struct {
	Kind    string          `json:"kind"`
	ID      json.RawMessage `json:"id"`
	Items   json.RawMessage `json:"items"`
	VideoID json.RawMessage `json:"video_id"`
}

// value handles one JSON value starting at byte off of the input.
func (j *jsonReader) value(raw []byte, off, depth int) error {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	off += len(raw) - len(trimmed)
	raw = bytes.TrimRight(trimmed, " \t\r\n")
	line := j.lineAt(off)
	if len(raw) == 0 {
		return nil
	}
	if raw[0] == '[' {
		if !json.Valid(raw) {
			return j.bad(line, jsonSyntaxError(raw))
		}
		if depth >= 2 {
			return j.bad(line, errors.New("unsupported JSON: nested arrays"))
		}
		return j.elements(raw, off, "", depth+1)
	}
	if err := j.s.step(); err != nil {
		return err
	}
	if raw[0] != '{' {
		if !json.Valid(raw) {
			return j.bad(line, jsonSyntaxError(raw))
		}
		return j.bad(line, fmt.Errorf("want a JSON object, got %s", clip(string(raw))))
	}
	var p probe
	if err := json.Unmarshal(raw, &p); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return j.bad(line, fmt.Errorf("invalid JSON: %w", err))
		}
		return j.bad(line, fmt.Errorf("invalid resource: %w", err))
	}
	switch {
	case p.Kind == "youtube#video":
		j.s.setFormat(j.format)
		return j.video(raw, line)
	case p.Kind == "youtube#channel":
		j.s.setFormat(j.format)
		return j.channel(raw, line)
	case p.Kind == "youtube#videoListResponse" || p.Kind == "youtube#channelListResponse" || (p.Kind == "" && p.Items != nil):
		if depth >= 2 {
			return j.bad(line, errors.New("unsupported JSON: list response nested in a list"))
		}
		return j.elements(raw, off, "items", depth+1)
	case p.Kind != "":
		return j.bad(line, fmt.Errorf("unsupported resource kind %q: want youtube#video, youtube#channel or a videos/channels list response", clip(p.Kind)))
	case p.VideoID != nil:
		j.s.setFormat(FormatFedelux3)
		return j.fedelux3(raw, line)
	case len(p.ID) > 0 && p.ID[0] == '"':
		// No kind: an API resource without it, or our own yt.Video/yt.Channel JSON.
		var id string
		_ = json.Unmarshal(p.ID, &id)
		j.s.setFormat(j.format)
		if strings.HasPrefix(id, "UC") && len(id) == 24 {
			return j.channel(raw, line)
		}
		return j.video(raw, line) // a bad id is reported by the video path
	default:
		return j.bad(line, errors.New("unrecognised JSON object: want a YouTube API video or channel resource (with kind and id), a list response (with items) or a fedelux3 record (with video_id)"))
	}
}

// elements calls value for each element of the array raw (key == "") or of
// the array under key in the object raw.
func (j *jsonReader) elements(raw []byte, off int, key string, depth int) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok := func() (json.Token, error) { return dec.Token() }
	each := func() error {
		t, err := tok()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); !ok || d != '[' {
			return fmt.Errorf("%q is not an array", key)
		}
		for dec.More() {
			var elem json.RawMessage
			if err := dec.Decode(&elem); err != nil {
				return err
			}
			start := int(dec.InputOffset()) - len(elem)
			if err := j.value(elem, off+start, depth); err != nil {
				return errValue{err}
			}
		}
		_, err = tok()
		return err
	}
	var err error
	if key == "" {
		err = each()
	} else {
		err = func() error {
			if _, err := tok(); err != nil { // {
				return err
			}
			for dec.More() {
				k, err := tok()
				if err != nil {
					return err
				}
				if k == key {
					if err := each(); err != nil {
						return err
					}
					continue
				}
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
			}
			return nil
		}()
	}
	var ev errValue
	if errors.As(err, &ev) {
		return ev.err
	}
	if err != nil {
		return j.bad(j.lineAt(off), fmt.Errorf("invalid list: %w", err))
	}
	return nil
}

// errValue carries an error of value through elements unchanged.
type errValue struct{ err error }

func (e errValue) Error() string { return e.err.Error() }

func (j *jsonReader) bad(line int, err error) error { return j.s.bad(line, err) }

// apiVideo is a videos resource as the API sends it; it also reads our own
// yt.Video JSON (snippet.thumbnail, numeric counts, fetchedAt).
type apiVideo struct {
	ID      string `json:"id"`
	ETag    string `json:"etag"`
	Snippet struct {
		PublishedAt          string              `json:"publishedAt"`
		ChannelID            string              `json:"channelId"`
		Title                string              `json:"title"`
		Description          string              `json:"description"`
		Thumbnails           map[string]apiThumb `json:"thumbnails"`
		Thumbnail            *apiThumb           `json:"thumbnail"`
		ChannelTitle         string              `json:"channelTitle"`
		Tags                 []string            `json:"tags"`
		CategoryID           string              `json:"categoryId"`
		LiveBroadcastContent string              `json:"liveBroadcastContent"`
		DefaultLanguage      string              `json:"defaultLanguage"`
		DefaultAudioLanguage string              `json:"defaultAudioLanguage"`
	} `json:"snippet"`
	Statistics struct {
		ViewCount    json.RawMessage `json:"viewCount"`
		LikeCount    json.RawMessage `json:"likeCount"`
		CommentCount json.RawMessage `json:"commentCount"`
	} `json:"statistics"`
	ContentDetails struct {
		Duration        string          `json:"duration"`
		Dimension       string          `json:"dimension"`
		Definition      string          `json:"definition"`
		Caption         json.RawMessage `json:"caption"`
		LicensedContent bool            `json:"licensedContent"`
	} `json:"contentDetails"`
	FetchedAt string `json:"fetchedAt"`
}

func (j *jsonReader) video(raw []byte, line int) error {
	var a apiVideo
	if err := json.Unmarshal(raw, &a); err != nil {
		return j.bad(line, fmt.Errorf("invalid video resource: %w", err))
	}
	v, err := a.toVideo()
	if err != nil {
		return j.bad(line, fmt.Errorf("video %q: %w", clip(a.ID), err))
	}
	return j.s.addVideo(line, v)
}

func (a *apiVideo) toVideo() (*yt.Video, error) {
	if err := yt.ValidateVideoID(a.ID); err != nil {
		return nil, err
	}
	v := &yt.Video{ID: a.ID, ETag: a.ETag}
	var err error
	if v.FetchedAt, err = parseTime("fetchedAt", a.FetchedAt); err != nil {
		return nil, err
	}
	sn := &a.Snippet
	if v.Snippet.PublishedAt, err = parseTime("snippet.publishedAt", sn.PublishedAt); err != nil {
		return nil, err
	}
	v.Snippet.ChannelID = sn.ChannelID
	v.Snippet.Title = sn.Title
	v.Snippet.Description = sn.Description
	v.Snippet.Thumbnail = bestThumb(sn.Thumbnails, sn.Thumbnail)
	v.Snippet.ChannelTitle = sn.ChannelTitle
	v.Snippet.Tags = cleanTags(sn.Tags)
	v.Snippet.CategoryID = sn.CategoryID
	v.Snippet.LiveBroadcastContent = sn.LiveBroadcastContent
	v.Snippet.DefaultLanguage = sn.DefaultLanguage
	v.Snippet.DefaultAudioLanguage = sn.DefaultAudioLanguage
	st := &a.Statistics
	if v.Statistics.ViewCount, err = parseJSONCount("statistics.viewCount", st.ViewCount); err != nil {
		return nil, err
	}
	if v.Statistics.LikeCount, err = parseJSONCount("statistics.likeCount", st.LikeCount); err != nil {
		return nil, err
	}
	if v.Statistics.CommentCount, err = parseJSONCount("statistics.commentCount", st.CommentCount); err != nil {
		return nil, err
	}
	cd := &a.ContentDetails
	v.ContentDetails = yt.VideoContentDetails{
		Duration: cd.Duration, Dimension: cd.Dimension, Definition: cd.Definition,
		LicensedContent: cd.LicensedContent,
	}
	if c := bytes.TrimSpace(cd.Caption); len(c) > 0 && string(c) != "null" {
		switch {
		case c[0] == '"':
			_ = json.Unmarshal(c, &v.ContentDetails.Caption)
		case string(c) == "true" || string(c) == "false":
			v.ContentDetails.Caption = string(c)
		default:
			return nil, fmt.Errorf("contentDetails.caption: invalid value %s: want \"true\" or \"false\"", clip(string(c)))
		}
	}
	return v, nil
}

// apiChannel is a channels resource as the API sends it (or our yt.Channel JSON).
type apiChannel struct {
	ID      string `json:"id"`
	ETag    string `json:"etag"`
	Snippet struct {
		Title           string              `json:"title"`
		Description     string              `json:"description"`
		CustomURL       string              `json:"customUrl"`
		PublishedAt     string              `json:"publishedAt"`
		Thumbnails      map[string]apiThumb `json:"thumbnails"`
		Thumbnail       *apiThumb           `json:"thumbnail"`
		DefaultLanguage string              `json:"defaultLanguage"`
		Country         string              `json:"country"`
	} `json:"snippet"`
	Statistics struct {
		ViewCount             json.RawMessage `json:"viewCount"`
		SubscriberCount       json.RawMessage `json:"subscriberCount"`
		HiddenSubscriberCount bool            `json:"hiddenSubscriberCount"`
		VideoCount            json.RawMessage `json:"videoCount"`
	} `json:"statistics"`
	ContentDetails struct {
		RelatedPlaylists struct {
			Uploads string `json:"uploads"`
		} `json:"relatedPlaylists"`
		UploadsPlaylistID string `json:"uploadsPlaylistId"`
	} `json:"contentDetails"`
	FetchedAt string `json:"fetchedAt"`
}

func (j *jsonReader) channel(raw []byte, line int) error {
	var a apiChannel
	if err := json.Unmarshal(raw, &a); err != nil {
		return j.bad(line, fmt.Errorf("invalid channel resource: %w", err))
	}
	c, err := a.toChannel()
	if err != nil {
		return j.bad(line, fmt.Errorf("channel %q: %w", clip(a.ID), err))
	}
	return j.s.addChannel(line, c)
}

func (a *apiChannel) toChannel() (*yt.Channel, error) {
	if err := yt.ValidateChannelID(a.ID); err != nil {
		return nil, err
	}
	c := &yt.Channel{ID: a.ID, ETag: a.ETag}
	var err error
	if c.FetchedAt, err = parseTime("fetchedAt", a.FetchedAt); err != nil {
		return nil, err
	}
	sn := &a.Snippet
	if c.Snippet.PublishedAt, err = parseTime("snippet.publishedAt", sn.PublishedAt); err != nil {
		return nil, err
	}
	c.Snippet.Title = sn.Title
	c.Snippet.Description = sn.Description
	c.Snippet.CustomURL = sn.CustomURL
	c.Snippet.Thumbnail = bestThumb(sn.Thumbnails, sn.Thumbnail)
	c.Snippet.DefaultLanguage = sn.DefaultLanguage
	c.Snippet.Country = sn.Country
	st := &a.Statistics
	if c.Statistics.ViewCount, err = parseJSONCount("statistics.viewCount", st.ViewCount); err != nil {
		return nil, err
	}
	if c.Statistics.SubscriberCount, err = parseJSONCount("statistics.subscriberCount", st.SubscriberCount); err != nil {
		return nil, err
	}
	if c.Statistics.VideoCount, err = parseJSONCount("statistics.videoCount", st.VideoCount); err != nil {
		return nil, err
	}
	c.Statistics.HiddenSubscriberCount = st.HiddenSubscriberCount
	c.ContentDetails.UploadsPlaylistID = a.ContentDetails.RelatedPlaylists.Uploads
	if c.ContentDetails.UploadsPlaylistID == "" {
		c.ContentDetails.UploadsPlaylistID = a.ContentDetails.UploadsPlaylistID
	}
	return c, nil
}

// fedelux3Row is a record of fedelux3/Youtube_trending_analysis.
type fedelux3Row struct {
	VideoID      string   `json:"video_id"`
	Timestamp    string   `json:"timestamp"` // MM-DD-YYYY HH:MM
	Title        string   `json:"title"`
	PublishedAt  string   `json:"publishedAt"`
	ChannelID    string   `json:"channelId"`
	ChannelTitle string   `json:"channelTitle"`
	CategoryID   string   `json:"categoryId"`
	TrendingDate string   `json:"trending_date"` // yy.dd.mm
	Tags         []string `json:"tags"`
	Statistics   struct {
		ViewCount    json.RawMessage `json:"view_count"`
		Likes        json.RawMessage `json:"likes"`
		CommentCount json.RawMessage `json:"comment_count"`
	} `json:"statistics"`
	ThumbnailLink string `json:"thumbnail_link"`
	Description   string `json:"description"`
}

func (j *jsonReader) fedelux3(raw []byte, line int) error {
	var r fedelux3Row
	if err := json.Unmarshal(raw, &r); err != nil {
		return j.bad(line, fmt.Errorf("invalid fedelux3 record: %w", err))
	}
	v, err := r.toVideo()
	if err != nil {
		return j.bad(line, fmt.Errorf("video %q: %w", clip(r.VideoID), err))
	}
	return j.s.addVideo(line, v)
}

func (r *fedelux3Row) toVideo() (*yt.Video, error) {
	if err := yt.ValidateVideoID(r.VideoID); err != nil {
		return nil, err
	}
	v := &yt.Video{ID: r.VideoID}
	var err error
	if v.FetchedAt, err = parseLayout("timestamp", r.Timestamp, "01-02-2006 15:04", "MM-DD-YYYY HH:MM like 04-01-2020 10:48"); err != nil {
		return nil, err
	}
	if v.FetchedAt.IsZero() {
		if v.FetchedAt, err = parseLayout("trending_date", r.TrendingDate, "06.02.01", "yy.dd.mm like 20.01.04"); err != nil {
			return nil, err
		}
	}
	if v.Snippet.PublishedAt, err = parseTime("publishedAt", r.PublishedAt); err != nil {
		return nil, err
	}
	v.Snippet.ChannelID = r.ChannelID
	v.Snippet.Title = r.Title
	v.Snippet.Description = r.Description
	v.Snippet.ChannelTitle = r.ChannelTitle
	v.Snippet.CategoryID = r.CategoryID
	v.Snippet.Tags = cleanTags(r.Tags)
	v.Snippet.Thumbnail = yt.Thumbnail{URL: r.ThumbnailLink}
	if v.Statistics.ViewCount, err = parseJSONCount("statistics.view_count", r.Statistics.ViewCount); err != nil {
		return nil, err
	}
	if v.Statistics.LikeCount, err = parseJSONCount("statistics.likes", r.Statistics.Likes); err != nil {
		return nil, err
	}
	if v.Statistics.CommentCount, err = parseJSONCount("statistics.comment_count", r.Statistics.CommentCount); err != nil {
		return nil, err
	}
	return v, nil
}
