package sim

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// TestGolden pins a few complete responses of a small fixed universe. Run
// `go test ./internal/sim -run Golden -update` after an intended change.
func TestGolden(t *testing.T) {
	e := newEnv(t, Config{Seed: 2026, Channels: 50, VideosPerChannel: 10, QuotaPerDay: 102})
	now := e.s.Now()
	ch := e.s.ChannelIDs(2)
	ups := e.s.UploadIDs(ch[0], now)
	cases := []struct{ name, path string }{
		{"channels.json", "/youtube/v3/channels?key=k&part=snippet,contentDetails,statistics&id=" + strings.Join(ch, ",")},
		{"videos.json", "/youtube/v3/videos?key=k&part=snippet,contentDetails,statistics&id=" + strings.Join(ups[:3], ",")},
		{"playlistItems.json", "/youtube/v3/playlistItems?key=k&part=snippet,contentDetails&maxResults=3&playlistId=UU" + ch[0][2:]},
		{"quotaExceeded.json", "/youtube/v3/search?key=k&part=id&q=x"}, // 3 + 100 > 102
		{"search.json", "/youtube/v3/search?key=other&part=snippet&q=영어&maxResults=3"},
		{"videoCategories.json", "/youtube/v3/videoCategories?key=other&part=snippet&id=1,10"},
		{"unknownPart.json", "/youtube/v3/videos?key=other&part=snippets&id=x"},
		{"playlistNotFound.json", "/youtube/v3/playlistItems?key=third&part=snippet&playlistId=UUAAAAAAAAAAAAAAAAAAAAAA"},
		{"feed.xml", "/feeds/videos.xml?channel_id=" + ch[1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := e.get(t, c.path).body
			p := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(p, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from %s:\n%s", c.path, p, got)
			}
		})
	}
}
