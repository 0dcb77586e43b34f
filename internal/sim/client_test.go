package sim

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	youtube "google.golang.org/api/youtube/v3"
)

// TestOfficialClient drives the emulator with the unmodified official client.
func TestOfficialClient(t *testing.T) {
	e := newEnv(t, Config{Seed: 7, QuotaPerDay: 1000})
	ctx := context.Background()
	svc, err := youtube.NewService(ctx,
		option.WithEndpoint(e.ts.URL+"/youtube/v3/"),
		option.WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	now := e.s.Now()
	chans := e.s.ChannelIDs(3)

	// channels.list
	cl, err := svc.Channels.List([]string{"snippet", "statistics", "contentDetails"}).Id(chans...).Do()
	if err != nil {
		t.Fatalf("channels.list: %v", err)
	}
	if len(cl.Items) != 3 || cl.Items[0].Id != chans[0] {
		t.Fatalf("channels.list: got %d items", len(cl.Items))
	}
	ch := cl.Items[1]
	if ch.ContentDetails.RelatedPlaylists.Uploads != "UU"+chans[1][2:] {
		t.Errorf("uploads playlist = %q", ch.ContentDetails.RelatedPlaylists.Uploads)
	}
	if ch.Snippet.CustomUrl == "" || ch.Snippet.Title == "" || cl.Etag == "" {
		t.Errorf("channel snippet incomplete: %+v", ch.Snippet)
	}
	// forHandle
	fh, err := svc.Channels.List([]string{"id"}).ForHandle(ch.Snippet.CustomUrl).Do()
	if err != nil || len(fh.Items) != 1 || fh.Items[0].Id != chans[1] {
		t.Fatalf("forHandle %q: %v %+v", ch.Snippet.CustomUrl, err, fh)
	}

	// playlistItems.list paging over the whole uploads playlist
	want := e.s.UploadIDs(chans[1], now)
	var got []string
	err = svc.PlaylistItems.List([]string{"snippet", "contentDetails"}).
		PlaylistId(ch.ContentDetails.RelatedPlaylists.Uploads).MaxResults(7).
		Pages(ctx, func(r *youtube.PlaylistItemListResponse) error {
			for _, it := range r.Items {
				got = append(got, it.ContentDetails.VideoId)
			}
			return nil
		})
	if err != nil {
		t.Fatalf("playlistItems pages: %v", err)
	}
	if !equalStrings(got, want) {
		t.Fatalf("paged %d ids, want %d (UploadIDs)", len(got), len(want))
	}

	// videos.list with up to 50 ids: deleted/private ones are absent
	ids := want[:min(50, len(want))]
	vl, err := svc.Videos.List([]string{"snippet", "statistics", "contentDetails"}).Id(ids...).Do()
	if err != nil {
		t.Fatalf("videos.list: %v", err)
	}
	public := 0
	for _, id := range ids {
		if _, ok := e.s.Video(id, now); ok {
			public++
		}
	}
	if len(vl.Items) != public || public == 0 {
		t.Fatalf("videos.list: %d items, %d public", len(vl.Items), public)
	}
	v := vl.Items[0]
	if v.Snippet.ChannelId != chans[1] || v.ContentDetails.Duration == "" || v.Statistics.ViewCount == 0 {
		t.Errorf("video incomplete: %+v %+v %+v", v.Snippet, v.ContentDetails, v.Statistics)
	}
	// If-None-Match through the client: 304 surfaces as googleapi.IsNotModified.
	_, err = svc.Videos.List([]string{"snippet", "statistics", "contentDetails"}).Id(ids...).IfNoneMatch(vl.Etag).Do()
	if !googleapi.IsNotModified(err) {
		t.Fatalf("If-None-Match: want not modified, got %v", err)
	}

	// search.list
	sr, err := svc.Search.List([]string{"snippet"}).Q("영어").Type("video").MaxResults(10).Do()
	if err != nil {
		t.Fatalf("search.list: %v", err)
	}
	if len(sr.Items) == 0 || sr.Items[0].Id.Kind != "youtube#video" || sr.Items[0].Id.VideoId == "" {
		t.Fatalf("search.list: %+v", sr.Items)
	}

	// videoCategories.list
	cats, err := svc.VideoCategories.List([]string{"snippet"}).RegionCode("KR").Do()
	if err != nil || len(cats.Items) == 0 {
		t.Fatalf("videoCategories.list: %v", err)
	}

	// Exhaust quota: 1000 units, search costs 100.
	for {
		_, err = svc.Search.List([]string{"snippet"}).Q("먹방").Do()
		if err != nil {
			break
		}
	}
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) {
		t.Fatalf("want *googleapi.Error, got %T %v", err, err)
	}
	if gerr.Code != 403 || len(gerr.Errors) == 0 || gerr.Errors[0].Reason != "quotaExceeded" {
		t.Fatalf("want 403 quotaExceeded, got %d %+v", gerr.Code, gerr.Errors)
	}
	if u := e.s.Usage(); u.UnitsToday["k"] > 1000 || u.Units["k"] != u.UnitsToday["k"] {
		t.Fatalf("usage after exhaustion: %+v", u)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
