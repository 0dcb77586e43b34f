package collect

import (
	"bytes"
	"encoding/json"
	"time"

	"google.golang.org/api/youtube/v3"

	"github.com/tubelake/tubelake/internal/yt"
)

// statsPresence reads a raw list response and returns, per item id, which
// statistics fields the API actually sent. The generated client decodes
// counts into uint64 with omitempty, so an absent count (hidden likes) and
// "0" look alike; the raw body tells them apart. nil if raw is unusable.
func statsPresence(raw []byte) map[string]map[string]bool {
	var body struct {
		Items []struct {
			ID         string `json:"id"`
			Statistics *struct {
				ViewCount       json.RawMessage `json:"viewCount"`
				LikeCount       json.RawMessage `json:"likeCount"`
				CommentCount    json.RawMessage `json:"commentCount"`
				SubscriberCount json.RawMessage `json:"subscriberCount"`
				VideoCount      json.RawMessage `json:"videoCount"`
			} `json:"statistics"`
		} `json:"items"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &body) != nil {
		return nil
	}
	has := func(m json.RawMessage) bool { return len(m) > 0 && string(m) != "null" }
	out := make(map[string]map[string]bool, len(body.Items))
	for _, it := range body.Items {
		p := map[string]bool{}
		if s := it.Statistics; s != nil {
			p["viewCount"], p["likeCount"], p["commentCount"] = has(s.ViewCount), has(s.LikeCount), has(s.CommentCount)
			p["subscriberCount"], p["videoCount"] = has(s.SubscriberCount), has(s.VideoCount)
		}
		out[it.ID] = p
	}
	return out
}

var statsKey = []byte(`"statistics"`)

// statsObjects returns, in document order, the raw text of every
// `"statistics": {...}` object in a list response. The pattern cannot
// occur inside a JSON string (a quote there is escaped), and a statistics
// object is flat (decimal strings and a boolean), so its end is the first '}'.
func statsObjects(raw []byte) [][]byte {
	var out [][]byte
	skipWS := func(k int) int {
		for k < len(raw) && (raw[k] == ' ' || raw[k] == '\n' || raw[k] == '\r' || raw[k] == '\t') {
			k++
		}
		return k
	}
	for i := 0; i < len(raw); {
		j := bytes.Index(raw[i:], statsKey)
		if j < 0 {
			break
		}
		k := skipWS(i + j + len(statsKey))
		if k >= len(raw) || raw[k] != ':' {
			i = k
			continue
		}
		k = skipWS(k + 1)
		if k >= len(raw) || raw[k] != '{' {
			i = k
			continue
		}
		end := bytes.IndexByte(raw[k:], '}')
		if end < 0 {
			break
		}
		out = append(out, raw[k:k+end+1])
		i = k + end + 1
	}
	return out
}

// presence returns which statistics fields each item really had. ids are
// the items that have a statistics part, in response order. It scans the raw
// body for the statistics objects (cheap) and falls back to a full decode
// if the scan does not line up with the items.
func presence(raw []byte, ids []string) map[string]map[string]bool {
	objs := statsObjects(raw)
	if len(objs) != len(ids) {
		return statsPresence(raw)
	}
	out := make(map[string]map[string]bool, len(ids))
	for i, id := range ids {
		p := make(map[string]bool, 5)
		for _, f := range []string{"viewCount", "likeCount", "commentCount", "subscriberCount", "videoCount"} {
			if k := bytes.Index(objs[i], []byte(`"`+f+`"`)); k >= 0 {
				rest := bytes.TrimLeft(objs[i][k+len(f)+2:], " \t\r\n:")
				p[f] = !bytes.HasPrefix(rest, []byte("null"))
			}
		}
		out[id] = p
	}
	return out
}

// videosAmbiguous reports whether some item has a zero count, which the
// generated client cannot tell from an absent one: only then is the raw body
// decoded a second time (it costs a third of the client's CPU per call).
func videosAmbiguous(items []*youtube.Video) bool {
	for _, it := range items {
		if s := it.Statistics; s != nil && (s.ViewCount == 0 || s.LikeCount == 0 || s.CommentCount == 0) {
			return true
		}
	}
	return false
}

func channelsAmbiguous(items []*youtube.Channel) bool {
	for _, it := range items {
		if s := it.Statistics; s != nil && (s.ViewCount == 0 || s.VideoCount == 0 || (s.SubscriberCount == 0 && !s.HiddenSubscriberCount)) {
			return true
		}
	}
	return false
}

// count returns n as an optional count: present if the raw response had
// the field, or (without raw presence information) if it is non-zero.
func count(n uint64, field string, present map[string]bool) *int64 {
	if present != nil {
		if !present[field] {
			return nil
		}
		return yt.Int64(int64(n))
	}
	if n == 0 {
		return nil
	}
	return yt.Int64(int64(n))
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// bestThumbnail returns the largest thumbnail offered.
func bestThumbnail(td *youtube.ThumbnailDetails) yt.Thumbnail {
	if td == nil {
		return yt.Thumbnail{}
	}
	var best *youtube.Thumbnail
	for _, t := range []*youtube.Thumbnail{td.Maxres, td.Standard, td.High, td.Medium, td.Default} {
		if t == nil || t.Url == "" {
			continue
		}
		if best == nil || t.Width*t.Height > best.Width*best.Height {
			best = t
		}
	}
	if best == nil {
		return yt.Thumbnail{}
	}
	return yt.Thumbnail{URL: best.Url, Width: int(best.Width), Height: int(best.Height)}
}

// convertVideo maps a videos#video resource to our model; fetchedAt is when
// the response was received.
func convertVideo(v *youtube.Video, present map[string]bool, fetchedAt time.Time) *yt.Video {
	out := &yt.Video{ID: v.Id, ETag: v.Etag, FetchedAt: fetchedAt}
	if s := v.Snippet; s != nil {
		out.Snippet = yt.VideoSnippet{
			PublishedAt:          parseTime(s.PublishedAt),
			ChannelID:            s.ChannelId,
			Title:                s.Title,
			Description:          s.Description,
			Thumbnail:            bestThumbnail(s.Thumbnails),
			ChannelTitle:         s.ChannelTitle,
			Tags:                 s.Tags,
			CategoryID:           s.CategoryId,
			LiveBroadcastContent: s.LiveBroadcastContent,
			DefaultLanguage:      s.DefaultLanguage,
			DefaultAudioLanguage: s.DefaultAudioLanguage,
		}
	}
	if s := v.Statistics; s != nil {
		out.Statistics = yt.VideoStatistics{
			ViewCount:    count(s.ViewCount, "viewCount", present),
			LikeCount:    count(s.LikeCount, "likeCount", present),
			CommentCount: count(s.CommentCount, "commentCount", present),
		}
	}
	if d := v.ContentDetails; d != nil {
		out.ContentDetails = yt.VideoContentDetails{
			Duration:        d.Duration,
			Dimension:       d.Dimension,
			Definition:      d.Definition,
			Caption:         d.Caption,
			LicensedContent: d.LicensedContent,
		}
	}
	return out
}

// convertChannel maps a channels#channel resource to our model.
func convertChannel(c *youtube.Channel, present map[string]bool, fetchedAt time.Time) *yt.Channel {
	out := &yt.Channel{ID: c.Id, ETag: c.Etag, FetchedAt: fetchedAt}
	if s := c.Snippet; s != nil {
		out.Snippet = yt.ChannelSnippet{
			Title:           s.Title,
			Description:     s.Description,
			CustomURL:       s.CustomUrl,
			PublishedAt:     parseTime(s.PublishedAt),
			Thumbnail:       bestThumbnail(s.Thumbnails),
			DefaultLanguage: s.DefaultLanguage,
			Country:         s.Country,
		}
	}
	if s := c.Statistics; s != nil {
		out.Statistics = yt.ChannelStatistics{
			ViewCount:             count(s.ViewCount, "viewCount", present),
			SubscriberCount:       count(s.SubscriberCount, "subscriberCount", present),
			HiddenSubscriberCount: s.HiddenSubscriberCount,
			VideoCount:            count(s.VideoCount, "videoCount", present),
		}
		if s.HiddenSubscriberCount {
			out.Statistics.SubscriberCount = nil
		}
	}
	if d := c.ContentDetails; d != nil && d.RelatedPlaylists != nil {
		out.ContentDetails.UploadsPlaylistID = d.RelatedPlaylists.Uploads
	}
	return out
}

// playlistVideo returns the video id and publication time of a playlist item.
func playlistVideo(it *youtube.PlaylistItem) (string, time.Time) {
	if it == nil {
		return "", time.Time{}
	}
	if d := it.ContentDetails; d != nil && d.VideoId != "" {
		return d.VideoId, parseTime(d.VideoPublishedAt)
	}
	if s := it.Snippet; s != nil && s.ResourceId != nil {
		return s.ResourceId.VideoId, parseTime(s.PublishedAt)
	}
	return "", time.Time{}
}
