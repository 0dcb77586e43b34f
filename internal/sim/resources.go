package sim

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tubelake/tubelake/internal/yt"
)

// JSON shapes of the API resources, with fields in the order the real API sends them.

type thumb struct {
	URL    string `json:"url"`
	Width  int    `json:"width,omitempty"`
	Height int    `json:"height,omitempty"`
}

type thumbs struct {
	Default  *thumb `json:"default,omitempty"`
	Medium   *thumb `json:"medium,omitempty"`
	High     *thumb `json:"high,omitempty"`
	Standard *thumb `json:"standard,omitempty"`
	Maxres   *thumb `json:"maxres,omitempty"`
}

type localized struct {
	Title       string `json:"title"`
	Description string `json:"description"`
}

type videoSnippet struct {
	PublishedAt          string    `json:"publishedAt"`
	ChannelID            string    `json:"channelId"`
	Title                string    `json:"title"`
	Description          string    `json:"description"`
	Thumbnails           thumbs    `json:"thumbnails"`
	ChannelTitle         string    `json:"channelTitle"`
	Tags                 []string  `json:"tags,omitempty"`
	CategoryID           string    `json:"categoryId"`
	LiveBroadcastContent string    `json:"liveBroadcastContent"`
	DefaultLanguage      string    `json:"defaultLanguage,omitempty"`
	Localized            localized `json:"localized"`
	DefaultAudioLanguage string    `json:"defaultAudioLanguage,omitempty"`
}

type videoContentDetails struct {
	Duration        string   `json:"duration"`
	Dimension       string   `json:"dimension"`
	Definition      string   `json:"definition"`
	Caption         string   `json:"caption"`
	LicensedContent bool     `json:"licensedContent"`
	ContentRating   struct{} `json:"contentRating"`
	Projection      string   `json:"projection"`
}

type videoStatus struct {
	UploadStatus        string `json:"uploadStatus"`
	PrivacyStatus       string `json:"privacyStatus"`
	License             string `json:"license"`
	Embeddable          bool   `json:"embeddable"`
	PublicStatsViewable bool   `json:"publicStatsViewable"`
	MadeForKids         bool   `json:"madeForKids"`
}

type videoStatistics struct {
	ViewCount     string `json:"viewCount"`
	LikeCount     string `json:"likeCount,omitempty"`
	FavoriteCount string `json:"favoriteCount"`
	CommentCount  string `json:"commentCount,omitempty"`
}

type videoResource struct {
	Kind           string               `json:"kind"`
	ETag           string               `json:"etag"`
	ID             string               `json:"id"`
	Snippet        *videoSnippet        `json:"snippet,omitempty"`
	ContentDetails *videoContentDetails `json:"contentDetails,omitempty"`
	Status         *videoStatus         `json:"status,omitempty"`
	Statistics     *videoStatistics     `json:"statistics,omitempty"`
}

type channelSnippet struct {
	Title           string    `json:"title"`
	Description     string    `json:"description"`
	CustomURL       string    `json:"customUrl"`
	PublishedAt     string    `json:"publishedAt"`
	Thumbnails      thumbs    `json:"thumbnails"`
	DefaultLanguage string    `json:"defaultLanguage,omitempty"`
	Localized       localized `json:"localized"`
	Country         string    `json:"country,omitempty"`
}

type channelContentDetails struct {
	RelatedPlaylists struct {
		Likes   string `json:"likes"`
		Uploads string `json:"uploads"`
	} `json:"relatedPlaylists"`
}

type channelStatistics struct {
	ViewCount             string `json:"viewCount"`
	SubscriberCount       string `json:"subscriberCount,omitempty"`
	HiddenSubscriberCount bool   `json:"hiddenSubscriberCount"`
	VideoCount            string `json:"videoCount"`
}

type channelResource struct {
	Kind           string                 `json:"kind"`
	ETag           string                 `json:"etag"`
	ID             string                 `json:"id"`
	Snippet        *channelSnippet        `json:"snippet,omitempty"`
	ContentDetails *channelContentDetails `json:"contentDetails,omitempty"`
	Statistics     *channelStatistics     `json:"statistics,omitempty"`
}

type resourceID struct {
	Kind      string `json:"kind"`
	VideoID   string `json:"videoId,omitempty"`
	ChannelID string `json:"channelId,omitempty"`
}

type playlistItemSnippet struct {
	PublishedAt            string     `json:"publishedAt"`
	ChannelID              string     `json:"channelId"`
	Title                  string     `json:"title"`
	Description            string     `json:"description"`
	Thumbnails             thumbs     `json:"thumbnails"`
	ChannelTitle           string     `json:"channelTitle"`
	PlaylistID             string     `json:"playlistId"`
	Position               int        `json:"position"`
	ResourceID             resourceID `json:"resourceId"`
	VideoOwnerChannelTitle string     `json:"videoOwnerChannelTitle,omitempty"`
	VideoOwnerChannelID    string     `json:"videoOwnerChannelId,omitempty"`
}

type playlistItemContentDetails struct {
	VideoID          string `json:"videoId"`
	VideoPublishedAt string `json:"videoPublishedAt,omitempty"`
}

type playlistItemStatus struct {
	PrivacyStatus string `json:"privacyStatus"`
}

type playlistItemResource struct {
	Kind           string                      `json:"kind"`
	ETag           string                      `json:"etag"`
	ID             string                      `json:"id"`
	Snippet        *playlistItemSnippet        `json:"snippet,omitempty"`
	ContentDetails *playlistItemContentDetails `json:"contentDetails,omitempty"`
	Status         *playlistItemStatus         `json:"status,omitempty"`
}

type searchSnippet struct {
	PublishedAt          string `json:"publishedAt"`
	ChannelID            string `json:"channelId"`
	Title                string `json:"title"`
	Description          string `json:"description"`
	Thumbnails           thumbs `json:"thumbnails"`
	ChannelTitle         string `json:"channelTitle"`
	LiveBroadcastContent string `json:"liveBroadcastContent"`
	PublishTime          string `json:"publishTime"`
}

type searchResult struct {
	Kind    string         `json:"kind"`
	ETag    string         `json:"etag"`
	ID      resourceID     `json:"id"`
	Snippet *searchSnippet `json:"snippet,omitempty"`
}

type pageInfo struct {
	TotalResults   int `json:"totalResults"`
	ResultsPerPage int `json:"resultsPerPage"`
}

type partSet struct {
	id, snippet, contentDetails, statistics, status bool
}

func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// etagOf hashes a value's JSON into a 27-character etag like the real ones.
func etagOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sim: etag: %v", err))
	}
	sum := sha1.Sum(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func videoThumbs(id string, hd bool, full bool) thumbs {
	base := "https://i.ytimg.com/vi/" + id + "/"
	t := thumbs{
		Default: &thumb{base + "default.jpg", 120, 90},
		Medium:  &thumb{base + "mqdefault.jpg", 320, 180},
		High:    &thumb{base + "hqdefault.jpg", 480, 360},
	}
	if full {
		t.Standard = &thumb{base + "sddefault.jpg", 640, 480}
		if hd {
			t.Maxres = &thumb{base + "maxresdefault.jpg", 1280, 720}
		}
	}
	return t
}

func channelThumbs(base string) thumbs {
	return thumbs{
		Default: &thumb{base + "=s88-c-k-c0x00ffffff-no-rj", 88, 88},
		Medium:  &thumb{base + "=s240-c-k-c0x00ffffff-no-rj", 240, 240},
		High:    &thumb{base + "=s800-c-k-c0x00ffffff-no-rj", 800, 800},
	}
}

// channelSearchThumbs are the channel thumbnails of search results (no sizes, as the real API).
func channelSearchThumbs(base string) thumbs {
	t := channelThumbs(base)
	for _, p := range []*thumb{t.Default, t.Medium, t.High} {
		p.Width, p.Height = 0, 0
	}
	return t
}

func bestThumb(t thumbs) yt.Thumbnail {
	for _, p := range []*thumb{t.Maxres, t.Standard, t.High, t.Medium, t.Default} {
		if p != nil {
			return yt.Thumbnail{URL: p.URL, Width: p.Width, Height: p.Height}
		}
	}
	return yt.Thumbnail{}
}

func parseCount(s string) *int64 {
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Server) videoResource(v *vidBase, t time.Time, p partSet) videoResource {
	r := videoResource{Kind: "youtube#video", ID: v.id}
	if p.snippet {
		title, desc, tags := s.u.videoText(v, t)
		r.Snippet = &videoSnippet{
			PublishedAt:          apiTime(v.pub),
			ChannelID:            v.ch.id,
			Title:                title,
			Description:          desc,
			Thumbnails:           videoThumbs(v.id, v.hd, true),
			ChannelTitle:         v.ch.title,
			Tags:                 tags,
			CategoryID:           v.category,
			LiveBroadcastContent: "none",
			DefaultLanguage:      v.defLang,
			Localized:            localized{Title: title, Description: desc},
			DefaultAudioLanguage: v.audioLang,
		}
	}
	if p.contentDetails {
		cd := &videoContentDetails{Duration: isoDuration(v.seconds), Dimension: "2d", Definition: "sd", Caption: "false",
			LicensedContent: v.licensed, Projection: "rectangular"}
		if v.hd {
			cd.Definition = "hd"
		}
		if v.caption {
			cd.Caption = "true"
		}
		r.ContentDetails = cd
	}
	if p.status {
		r.Status = &videoStatus{UploadStatus: "processed", PrivacyStatus: "public", License: "youtube", Embeddable: true, PublicStatsViewable: true}
	}
	if p.statistics {
		views := s.u.views(v, t)
		st := &videoStatistics{ViewCount: itoa(views), FavoriteCount: "0"}
		if !v.hideLikes {
			st.LikeCount = itoa(int64(float64(views) * v.likeRatio))
		}
		if !v.noComments {
			st.CommentCount = itoa(int64(float64(views) * v.cmtRatio))
		}
		r.Statistics = st
	}
	r.ETag = etagOf(r)
	return r
}

func (s *Server) channelResource(m *chanMeta, t time.Time, p partSet) channelResource {
	r := channelResource{Kind: "youtube#channel", ID: m.id}
	if p.snippet {
		r.Snippet = &channelSnippet{
			Title:           m.title,
			Description:     m.desc,
			CustomURL:       m.handle,
			PublishedAt:     apiTime(m.created),
			Thumbnails:      channelThumbs(m.thumb),
			DefaultLanguage: m.defaultLanguage,
			Localized:       localized{Title: m.title, Description: m.desc},
			Country:         m.country,
		}
	}
	if p.contentDetails {
		cd := &channelContentDetails{}
		cd.RelatedPlaylists.Uploads = yt.UploadsPlaylistID(m.id)
		r.ContentDetails = cd
	}
	if p.statistics {
		views, subs, n := s.u.channelStats(&m.chanBase, t)
		st := &channelStatistics{ViewCount: itoa(views), VideoCount: itoa(n)}
		if m.hiddenSubs {
			st.HiddenSubscriberCount = true
		} else {
			st.SubscriberCount = itoa(subs)
		}
		r.Statistics = st
	}
	r.ETag = etagOf(r)
	return r
}

func (s *Server) playlistItemResource(v *vidBase, position int, t time.Time, p partSet) playlistItemResource {
	plID := yt.UploadsPlaylistID(v.ch.id)
	raw := fmt.Sprintf("%s.%016X", plID, hash2(s.u.seed, uint64(v.ch.idx), uint64(v.ord), 0x9117))
	r := playlistItemResource{Kind: "youtube#playlistItem", ID: base64.StdEncoding.EncodeToString([]byte(raw))}
	gone := v.gone(t)
	if p.snippet {
		sn := &playlistItemSnippet{
			PublishedAt:  apiTime(v.pub),
			ChannelID:    v.ch.id,
			ChannelTitle: v.ch.title,
			PlaylistID:   plID,
			Position:     position,
			ResourceID:   resourceID{Kind: "youtube#video", VideoID: v.id},
		}
		switch {
		case gone && v.goneKind == gonePrivate:
			sn.Title, sn.Description = "Private video", "This video is private."
		case gone:
			sn.Title, sn.Description = "Deleted video", "This video is unavailable."
		default:
			sn.Title, sn.Description = s.u.videoTitle(v, t), s.u.videoDesc(v)
			sn.Thumbnails = videoThumbs(v.id, v.hd, true)
			sn.VideoOwnerChannelTitle, sn.VideoOwnerChannelID = v.ch.title, v.ch.id
		}
		r.Snippet = sn
	}
	if p.contentDetails {
		cd := &playlistItemContentDetails{VideoID: v.id}
		if !gone {
			cd.VideoPublishedAt = apiTime(v.pub)
		}
		r.ContentDetails = cd
	}
	if p.status {
		ps := "public"
		if gone && v.goneKind == gonePrivate {
			ps = "private"
		} else if gone {
			ps = "privacyStatusUnspecified"
		}
		r.Status = &playlistItemStatus{PrivacyStatus: ps}
	}
	r.ETag = etagOf(r)
	return r
}

// htmlEscape escapes like search.list titles and descriptions (&#39; and &quot;).
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func searchDesc(d string) string {
	d = strings.Join(strings.Fields(d), " ")
	if utf8.RuneCountInString(d) > 160 {
		d = strings.TrimSpace(string([]rune(d)[:160])) + " ..."
	}
	return htmlEscaper.Replace(d)
}

func (s *Server) searchVideoResult(v *vidBase, t time.Time, withSnippet bool) searchResult {
	r := searchResult{Kind: "youtube#searchResult", ID: resourceID{Kind: "youtube#video", VideoID: v.id}}
	if withSnippet {
		title, desc := s.u.videoTitle(v, t), s.u.videoDesc(v)
		r.Snippet = &searchSnippet{
			PublishedAt:          apiTime(v.pub),
			ChannelID:            v.ch.id,
			Title:                htmlEscaper.Replace(title),
			Description:          searchDesc(desc),
			Thumbnails:           videoThumbs(v.id, v.hd, false),
			ChannelTitle:         htmlEscaper.Replace(v.ch.title),
			LiveBroadcastContent: "none",
			PublishTime:          apiTime(v.pub),
		}
	}
	r.ETag = etagOf(r)
	return r
}

func (s *Server) searchChannelResult(m *chanMeta, withSnippet bool) searchResult {
	r := searchResult{Kind: "youtube#searchResult", ID: resourceID{Kind: "youtube#channel", ChannelID: m.id}}
	if withSnippet {
		r.Snippet = &searchSnippet{
			PublishedAt:          apiTime(m.created),
			ChannelID:            m.id,
			Title:                htmlEscaper.Replace(m.title),
			Description:          searchDesc(m.desc),
			Thumbnails:           channelSearchThumbs(m.thumb),
			ChannelTitle:         htmlEscaper.Replace(m.title),
			LiveBroadcastContent: "none",
			PublishTime:          apiTime(m.created),
		}
	}
	r.ETag = etagOf(r)
	return r
}
