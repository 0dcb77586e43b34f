package sim

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

type atomFeed struct {
	ChannelID string      `xml:"http://www.youtube.com/xml/schemas/2015 channelId"`
	Title     string      `xml:"title"`
	Entries   []atomEntry `xml:"entry"`
}

type atomEntry struct {
	VideoID   string `xml:"http://www.youtube.com/xml/schemas/2015 videoId"`
	ChannelID string `xml:"http://www.youtube.com/xml/schemas/2015 channelId"`
	Title     string `xml:"title"`
	Published string `xml:"published"`
	Updated   string `xml:"updated"`
	Group     struct {
		Title     string `xml:"http://search.yahoo.com/mrss/ title"`
		Community struct {
			Statistics struct {
				Views string `xml:"views,attr"`
			} `xml:"http://search.yahoo.com/mrss/ statistics"`
		} `xml:"http://search.yahoo.com/mrss/ community"`
	} `xml:"http://search.yahoo.com/mrss/ group"`
}

// shape lists every element path and attribute of an XML document.
func shape(t *testing.T, b []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var stack []string
	set := map[string]bool{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("xml: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			stack = append(stack, x.Name.Space+" "+x.Name.Local)
			p := strings.Join(stack, "/")
			set[p] = true
			for _, a := range x.Attr {
				set[p+"@"+a.Name.Space+a.Name.Local] = true
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestRSSFeed(t *testing.T) {
	e := newEnv(t, Config{Seed: 12})
	ch := e.s.ChannelIDs(1)[0]
	r := e.get(t, "/feeds/videos.xml?channel_id="+ch)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/xml") {
		t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
	}
	var f atomFeed
	if err := xml.Unmarshal(r.body, &f); err != nil {
		t.Fatal(err)
	}
	if f.ChannelID != ch[2:] {
		t.Errorf("feed-level channelId %q (real feeds drop the UC prefix)", f.ChannelID)
	}
	if len(f.Entries) != 15 {
		t.Fatalf("%d entries", len(f.Entries))
	}
	now := e.s.Now()
	var public []string
	for _, id := range e.s.UploadIDs(ch, now) {
		if _, ok := e.s.Video(id, now); ok {
			public = append(public, id)
		}
	}
	for i, en := range f.Entries {
		if en.VideoID != public[i] || en.ChannelID != ch || en.Title == "" || en.Group.Title != en.Title {
			t.Fatalf("entry %d: %+v (want %s)", i, en, public[i])
		}
		v, _ := e.s.Video(en.VideoID, now)
		if en.Title != v.Snippet.Title || en.Group.Community.Statistics.Views == "" {
			t.Fatalf("entry %d title %q vs API %q", i, en.Title, v.Snippet.Title)
		}
		if en.Updated < en.Published {
			t.Fatalf("updated before published")
		}
	}
	// Same element and attribute structure as a real feed.
	real, err := os.ReadFile(sharedData(t, "rss/feed_UC7pcEjI2U2vg6CqgbwIpjgg_2016-07-15_ja.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := shape(t, r.body), shape(t, real); !slices.Equal(got, want) {
		t.Fatalf("feed structure differs from the real one:\n got %v\nwant %v", got, want)
	}
	// New uploads appear as simulated time passes.
	e.s.Advance(90 * 24 * time.Hour)
	var f2 atomFeed
	if err := xml.Unmarshal(e.get(t, "/feeds/videos.xml?channel_id="+ch).body, &f2); err != nil {
		t.Fatal(err)
	}
	if f2.Entries[0].VideoID == f.Entries[0].VideoID {
		t.Fatal("no new upload in the feed after 90 simulated days")
	}
	// Unknown channel: 404 like YouTube; RSS needs no key and costs no quota.
	if r := e.get(t, "/feeds/videos.xml?channel_id=UCAAAAAAAAAAAAAAAAAAAAAA"); r.status != 404 {
		t.Fatalf("unknown channel: %d", r.status)
	}
	if u := e.s.Usage(); u.Calls["rss"] != 3 || len(u.Units) != 0 {
		t.Fatalf("usage %+v", u)
	}
}
