package collect

import (
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
			ID         string                     `json:"id"`
			Statistics map[string]json.RawMessage `json:"statistics"`
		} `json:"items"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &body) != nil {
		return nil
	}
	out := make(map[string]map[string]bool, len(body.Items))
	for _, it := range body.Items {
		p := make(map[string]bool, len(it.Statistics))
		for k, v := range it.Statistics {
			if string(v) != "null" {
				p[k] = true
			}
		}
		out[it.ID] = p
	}
	return out
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
