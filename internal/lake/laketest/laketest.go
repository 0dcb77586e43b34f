// Package laketest builds deterministic yt.Records for tests of the lake and
// its readers. It is test support only.
package laketest

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/tubelake/tubelake/internal/yt"
)

// VideoID returns a valid, deterministic 11-character video id.
func VideoID(i int) string { return fmt.Sprintf("vid%08d", i) }

// ChannelID returns a valid, deterministic channel id.
func ChannelID(i int) string { return fmt.Sprintf("UCchan%018d", i) }

// Video builds a video snapshot record of video i at t.
func Video(i int, t time.Time) yt.Record {
	v := &yt.Video{
		ID:   VideoID(i),
		ETag: fmt.Sprintf("etag-%d-%d", i, t.Unix()),
		Snippet: yt.VideoSnippet{
			PublishedAt:          time.Date(2024, 1, 1+i%28, 10, 0, 0, 0, time.UTC),
			ChannelID:            ChannelID(i % 7),
			Title:                fmt.Sprintf("Video %d at %s", i, t.Format(time.RFC3339)),
			Description:          fmt.Sprintf("Description of video %d.\nSecond line.", i),
			Thumbnail:            yt.Thumbnail{URL: fmt.Sprintf("https://i.ytimg.com/vi/%s/hqdefault.jpg", VideoID(i)), Width: 480, Height: 360},
			ChannelTitle:         fmt.Sprintf("Channel %d", i%7),
			Tags:                 []string{"tag" + fmt.Sprint(i%3), "go"},
			CategoryID:           "28",
			LiveBroadcastContent: "none",
			DefaultLanguage:      "en",
			DefaultAudioLanguage: "en-US",
		},
		Statistics: yt.VideoStatistics{
			ViewCount:    yt.Int64(int64(1000*i) + t.Unix()%1000),
			CommentCount: yt.Int64(int64(i)),
		},
		ContentDetails: yt.VideoContentDetails{
			Duration: fmt.Sprintf("PT%dM%dS", i%60, i%59), Dimension: "2d", Definition: "hd", Caption: "false", LicensedContent: i%2 == 0,
		},
		FetchedAt: t,
	}
	if i%4 != 0 { // every 4th video hides its likes
		v.Statistics.LikeCount = yt.Int64(int64(10 * i))
	}
	if i%5 == 0 {
		v.Snippet.Tags = nil
		v.Snippet.DefaultLanguage = ""
	}
	return yt.NewVideoRecord("api", v)
}

// Channel builds a channel snapshot record of channel i at t.
func Channel(i int, t time.Time) yt.Record {
	c := &yt.Channel{
		ID:   ChannelID(i),
		ETag: fmt.Sprintf("cetag-%d", i),
		Snippet: yt.ChannelSnippet{
			Title:       fmt.Sprintf("Channel %d", i),
			Description: "About channel " + fmt.Sprint(i),
			CustomURL:   fmt.Sprintf("@channel%d", i),
			PublishedAt: time.Date(2015, 3, 1+i%28, 0, 0, 0, 0, time.UTC),
			Thumbnail:   yt.Thumbnail{URL: fmt.Sprintf("https://yt3.ggpht.com/c%d", i)},
			Country:     "US",
		},
		Statistics: yt.ChannelStatistics{
			ViewCount:  yt.Int64(int64(1_000_000 * (i + 1))),
			VideoCount: yt.Int64(int64(10 + i)),
		},
		ContentDetails: yt.ChannelContentDetails{UploadsPlaylistID: yt.UploadsPlaylistID(ChannelID(i))},
		FetchedAt:      t,
	}
	if i%3 == 0 {
		c.Statistics.HiddenSubscriberCount = true
	} else {
		c.Statistics.SubscriberCount = yt.Int64(int64(5000 * (i + 1)))
	}
	return yt.NewChannelRecord("api", c)
}

// Event builds a change event of video i at t.
func Event(i int, t time.Time) yt.Record {
	e := &yt.Event{Type: yt.EventTitleChanged, EntityKind: yt.KindVideo, EntityID: VideoID(i), ChannelID: ChannelID(i % 7),
		Old: fmt.Sprintf("Old title %d", i), New: fmt.Sprintf("New title %d", i), ObservedAt: t}
	if i%10 == 9 {
		e.Type, e.Old, e.New = yt.EventTombstone, "", ""
	}
	return yt.NewEventRecord("api", e)
}

// Mixed returns n videos, n/4 channels and n/4 events, all observed at
// times spread over the given days (UTC dates), with sub-second precision.
func Mixed(n int, days ...time.Time) []yt.Record {
	var recs []yt.Record
	for i := range n {
		d := days[i%len(days)]
		t := d.Add(time.Duration(i)*time.Second + 123456789*time.Nanosecond)
		recs = append(recs, Video(i, t))
		if i%4 == 0 {
			t := days[(i/4)%len(days)].Add(time.Duration(i)*time.Second + 987654321*time.Nanosecond)
			recs = append(recs, Channel(i/4, t))
			recs = append(recs, Event(i/4, t))
		}
	}
	return recs
}

// FakeS3 serves the S3 protocol in-process (gofakes3, in memory) on a
// loopback port with bucket created, stopped when the test ends, and
// returns the lake URL for it.
func FakeS3(t testing.TB, bucket string) string {
	t.Helper()
	be := s3mem.New()
	if err := be.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(be).Server())
	t.Cleanup(srv.Close)
	return "s3://" + bucket + "?region=us-east-1&anonymous=true&use_path_style=true&endpoint=" + srv.URL
}
