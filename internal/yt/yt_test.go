package yt

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The regexps ValidateVideoID and ValidateChannelID implemented before they
// were hand-written; the hand-written checks must accept exactly the same ids.
var (
	videoIDRe   = regexp.MustCompile(`^[0-9A-Za-z_-]{11}$`)
	channelIDRe = regexp.MustCompile(`^UC[0-9A-Za-z_-]{22}$`)
)

func TestIDChecksMatchRegexp(t *testing.T) {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
	video := "dQw4w9WgXcQ"
	channel := "UC" + strings.Repeat("aZ09_-", 4)[:22]
	ids := []string{"", video, video + "\n", "\n" + video, video[:10], video + "x", channel, channel + "\n",
		"UU" + channel[2:], "uc" + channel[2:], channel[:23], channel + "x", "UC", "UCé" + channel[4:],
		strings.Repeat("é", 11), video[:10] + "\x00", "dQw4w9WgXc\xff"}
	// Every byte value in every position of a valid id.
	for i := range 11 {
		for c := range 256 {
			b := []byte(video)
			b[i] = byte(c)
			ids = append(ids, string(b))
		}
	}
	for i := range 24 {
		for c := range 256 {
			b := []byte(channel)
			b[i] = byte(c)
			ids = append(ids, string(b))
		}
	}
	for _, c := range alphabet {
		ids = append(ids, strings.Repeat(string(c), 11), "UC"+strings.Repeat(string(c), 22))
	}
	for _, id := range ids {
		if got, want := ValidateVideoID(id) == nil, videoIDRe.MatchString(id); got != want {
			t.Errorf("ValidateVideoID(%q) ok=%v, regexp says %v", id, got, want)
		}
		if got, want := ValidateChannelID(id) == nil, channelIDRe.MatchString(id); got != want {
			t.Errorf("ValidateChannelID(%q) ok=%v, regexp says %v", id, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	video := func() Record { return NewVideoRecord("api", &Video{ID: "dQw4w9WgXcQ", FetchedAt: at}) }
	channel := func() Record {
		return NewChannelRecord("api", &Channel{ID: "UCuAXFkgsw1L7xaCfnd5JJOw", FetchedAt: at})
	}
	event := func() Record {
		return NewEventRecord("api", &Event{Type: "title", EntityKind: KindVideo, EntityID: "dQw4w9WgXcQ", ObservedAt: at})
	}
	cases := []struct {
		name string
		rec  func() Record
		want string // "" valid, else a substring of the error
	}{
		{"video", video, ""},
		{"channel", channel, ""},
		{"event", event, ""},
		{"version 0", func() Record { r := video(); r.V = 0; return r }, "unsupported schema version"},
		{"future version", func() Record { r := video(); r.V = SchemaVersion + 1; return r }, "unsupported schema version"},
		{"no id", func() Record { r := video(); r.ID = ""; return r }, "without id"},
		{"video nil", func() Record { r := video(); r.Video = nil; return r }, "without video"},
		{"bad video id", func() Record { r := video(); r.Video.ID = "dQw4w9WgXc!"; return r }, "invalid video id"},
		{"short video id", func() Record { r := video(); r.Video.ID = "dQw4w9WgXc"; return r }, "invalid video id"},
		{"video no time", func() Record { r := video(); r.Video.FetchedAt = time.Time{}; return r }, "without fetchedAt"},
		{"channel nil", func() Record { r := channel(); r.Channel = nil; return r }, "without channel"},
		{"bad channel id", func() Record { r := channel(); r.Channel.ID = "UUuAXFkgsw1L7xaCfnd5JJOw"; return r }, "invalid channel id"},
		{"channel no time", func() Record { r := channel(); r.Channel.FetchedAt = time.Time{}; return r }, "without fetchedAt"},
		{"event nil", func() Record { r := event(); r.Event = nil; return r }, "incomplete event"},
		{"event no entity", func() Record { r := event(); r.Event.EntityID = ""; return r }, "incomplete event"},
		{"event no type", func() Record { r := event(); r.Event.Type = ""; return r }, "incomplete event"},
		{"unknown kind", func() Record { r := video(); r.Kind = "playlist"; return r }, "unknown kind"},
	}
	for _, c := range cases {
		r := c.rec()
		err := r.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	r := NewVideoRecord("api", &Video{ID: "dQw4w9WgXcQ", FetchedAt: time.Now()})
	for b.Loop() {
		if err := r.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
