package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	youtube "google.golang.org/api/youtube/v3"
)

// TestFieldNamesMatchDiscovery decodes every response into the generated
// types of the official client with unknown fields forbidden: the emulator
// invents no field names.
func TestFieldNamesMatchDiscovery(t *testing.T) {
	e := newEnv(t, Config{Seed: 31, QuotaPerDay: -1})
	now := e.s.Now()
	ch := e.s.ChannelIDs(3)
	ups := e.s.UploadIDs(ch[0], now)
	cases := []struct {
		path string
		into any
	}{
		{"/youtube/v3/videos?key=k&part=snippet,contentDetails,statistics,status&id=" + strings.Join(ups[:10], ","), &youtube.VideoListResponse{}},
		{"/youtube/v3/videos?key=k&part=snippet,statistics&chart=mostPopular&maxResults=50&regionCode=JP", &youtube.VideoListResponse{}},
		{"/youtube/v3/channels?key=k&part=snippet,contentDetails,statistics&id=" + strings.Join(ch, ","), &youtube.ChannelListResponse{}},
		{"/youtube/v3/playlistItems?key=k&part=snippet,contentDetails,status&maxResults=50&playlistId=UU" + ch[0][2:], &youtube.PlaylistItemListResponse{}},
		{"/youtube/v3/search?key=k&part=snippet&q=게임&maxResults=50", &youtube.SearchListResponse{}},
		{"/youtube/v3/videoCategories?key=k&part=snippet&regionCode=KR", &youtube.VideoCategoryListResponse{}},
	}
	for _, c := range cases {
		r := e.get(t, c.path)
		if r.status != 200 {
			t.Fatalf("%s: %d", c.path, r.status)
		}
		body := r.body
		if strings.Contains(c.path, "/search?") {
			// Real search results carry snippet.publishTime, which the discovery
			// document does not list (see api/react-youtube-mock/search.json).
			body = dropKey(t, body, "publishTime")
		}
		d := json.NewDecoder(bytes.NewReader(body))
		d.DisallowUnknownFields()
		if err := d.Decode(c.into); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
	}
}

func dropKey(t *testing.T, b []byte, key string) []byte {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(x any) {
		switch y := x.(type) {
		case map[string]any:
			delete(y, key)
			for _, z := range y {
				walk(z)
			}
		case []any:
			for _, z := range y {
				walk(z)
			}
		}
	}
	walk(v)
	out, _ := json.Marshal(v)
	return out
}
