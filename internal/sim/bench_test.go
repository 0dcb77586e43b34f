package sim

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Benchmarks of the handler without the network (go test -bench . -benchtime 200x).
func benchHandler(b *testing.B, path func(s *Server) string) {
	s, err := New(Config{Seed: 1, QuotaPerDay: -1})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	p := path(s)
	u, _ := url.Parse(p)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, &http.Request{Method: "GET", URL: u, Header: http.Header{}})
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

func BenchmarkVideos50(b *testing.B) {
	benchHandler(b, func(s *Server) string {
		ids := s.UploadIDs(s.ChannelIDs(1)[0], s.Now())
		return "/youtube/v3/videos?key=k&part=snippet,statistics,contentDetails&id=" + strings.Join(ids[:50], ",")
	})
}

func BenchmarkPlaylistItems50(b *testing.B) {
	benchHandler(b, func(s *Server) string {
		return "/youtube/v3/playlistItems?key=k&part=snippet,contentDetails&maxResults=50&playlistId=UU" + s.ChannelIDs(10)[9][2:]
	})
}

func BenchmarkRSS(b *testing.B) {
	benchHandler(b, func(s *Server) string { return "/feeds/videos.xml?channel_id=" + s.ChannelIDs(10)[9] })
}

func BenchmarkSearch(b *testing.B) {
	benchHandler(b, func(s *Server) string { return "/youtube/v3/search?key=k&part=snippet&q=먹방&maxResults=50" })
}
