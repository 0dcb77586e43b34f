package sim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestParseFields(t *testing.T) {
	tests := []struct {
		expr string
		want string // mask as JSON (null = whole member)
		bad  bool
	}{
		{expr: "items", want: `{"items":null}`},
		{expr: "kind,items(id,snippet/title)", want: `{"items":{"id":null,"snippet":{"title":null}},"kind":null}`},
		{expr: "items/snippet/thumbnails(high,maxres)", want: `{"items":{"snippet":{"thumbnails":{"high":null,"maxres":null}}}}`},
		{expr: "items(id),items(snippet)", want: `{"items":{"id":null,"snippet":null}}`},
		{expr: "items(id),items", want: `{"items":null}`},
		{expr: "items/*/title", want: `{"items":{"*":{"title":null}}}`},
		{expr: "", bad: true},
		{expr: "items(id", bad: true},
		{expr: "items()", bad: true},
		{expr: "a,,b", bad: true},
		{expr: "a)", bad: true},
		{expr: "items/", bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			m, err := parseFields(tc.expr)
			if tc.bad {
				if err == nil {
					t.Fatalf("parsed %q as %v, want an error", tc.expr, m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(m)
			if string(got) != tc.want {
				t.Fatalf("mask %s, want %s", got, tc.want)
			}
		})
	}
}

func TestFilterJSON(t *testing.T) {
	raw := `{"kind":"k","etag":"e\"x","items":[{"id":"a","snippet":{"title":"t,}]","tags":["x","y"],"thumbnails":{"high":{"url":"u"}}},"statistics":{"viewCount":"1"}},{"id":"b","statistics":{"viewCount":"2","likeCount":"3"}}],"pageInfo":{"totalResults":2}}`
	tests := []struct{ expr, want string }{
		{"kind", `{"kind":"k"}`},
		{"etag,items/id", `{"etag":"e\"x","items":[{"id":"a"},{"id":"b"}]}`},
		{"items(id,snippet(title,tags))", `{"items":[{"id":"a","snippet":{"title":"t,}]","tags":["x","y"]}},{"id":"b"}]}`},
		{"items/statistics/likeCount", `{"items":[{},{"statistics":{"likeCount":"3"}}]}`},
		{"items/snippet/thumbnails/maxres", `{"items":[{},{}]}`},
		{"pageInfo,nextPageToken", `{"pageInfo":{"totalResults":2}}`},
		{"items/*/viewCount", `{"items":[{"statistics":{"viewCount":"1"}},{"statistics":{"viewCount":"2"}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			m, err := parseFields(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(filterJSON([]byte(raw), m)); got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestFieldsPartialResponse: the API honours fields on every list endpoint,
// in compact and pretty form, and rejects a selection that does not parse
// (charged, like other invalid requests).
func TestFieldsPartialResponse(t *testing.T) {
	e := newEnv(t, Config{Seed: 3})
	ch := e.s.ChannelIDs(1)[0]
	vids := e.s.UploadIDs(ch, e.s.Now())
	if len(vids) < 3 {
		t.Fatalf("channel has %d uploads", len(vids))
	}
	ids := strings.Join(vids[:3], ",")
	full := e.get(t, "/youtube/v3/videos?key=k&part=snippet,statistics,contentDetails&prettyPrint=false&id="+ids)
	sel := "items(id,snippet(title,thumbnails(high,maxres)),statistics/viewCount)"
	part := e.get(t, "/youtube/v3/videos?key=k&part=snippet,statistics,contentDetails&prettyPrint=false&id="+ids+"&fields="+url.QueryEscape(sel))
	if part.status != 200 || len(part.body) >= len(full.body)/2 {
		t.Fatalf("partial: status %d, %d bytes vs %d full", part.status, len(part.body), len(full.body))
	}
	fi, pi := items(t, full.body), items(t, part.body)
	if len(pi) != 3 || len(fi) != 3 {
		t.Fatalf("items: %d partial, %d full", len(pi), len(fi))
	}
	for i := range pi {
		if len(pi[i]) != 3 {
			t.Errorf("item %d members %v, want id, snippet, statistics", i, keys(pi[i]))
		}
		sn := pi[i]["snippet"].(map[string]any)
		fs := fi[i]["snippet"].(map[string]any)
		if len(sn) != 2 || sn["title"] != fs["title"] {
			t.Errorf("item %d snippet %v", i, sn)
		}
		if st := pi[i]["statistics"].(map[string]any); len(st) != 1 || st["viewCount"] != fi[i]["statistics"].(map[string]any)["viewCount"] {
			t.Errorf("item %d statistics %v", i, st)
		}
	}
	if m := jsonOf(t, part.body); len(m) != 1 {
		t.Errorf("top level %v, want items only", keys(m))
	}
	// Pretty printing applies to the partial response too.
	pretty := e.get(t, "/youtube/v3/videos?key=k&part=id&id="+ids+"&fields=items/id")
	var compact bytes.Buffer
	if err := json.Compact(&compact, pretty.body); err != nil || !bytes.Contains(pretty.body, []byte("\n  ")) {
		t.Fatalf("pretty partial body %q: %v", pretty.body, err)
	}
	// Playlist walk: the page token survives a selection that names it.
	pl := e.get(t, "/youtube/v3/playlistItems?key=k&part=contentDetails&maxResults=2&prettyPrint=false&playlistId=UU"+ch[2:]+"&fields="+url.QueryEscape("nextPageToken,items/contentDetails/videoId"))
	if m := jsonOf(t, pl.body); m["nextPageToken"] == nil || len(m) != 2 {
		t.Fatalf("playlist partial %s", pl.body)
	}
	before := e.s.Usage().Units["k"]
	bad := e.get(t, "/youtube/v3/videos?key=k&part=id&id="+ids+"&fields="+url.QueryEscape("items(id"))
	if bad.status != 400 || reasonOf(t, bad.body) != "invalidParameter" {
		t.Fatalf("bad fields: %d %s", bad.status, bad.body)
	}
	if got := e.s.Usage().Units["k"] - before; got != 1 {
		t.Fatalf("invalid fields charged %d units, want 1", got)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
