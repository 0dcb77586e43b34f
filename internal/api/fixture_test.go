package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tubelake/tubelake/internal/api"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/yt"
)

func chanID(i int) string { return fmt.Sprintf("UC%022d", i) }

// fixtureAt is the time of the newest observation; fixtureNow is the
// server's clock, two hours later.
var (
	fixtureAt  = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	fixtureNow = fixtureAt.Add(2 * time.Hour)
)

// viewRate is each fixture video's views gained per hour.
var viewRate = []int64{5, 10, 40, 1, 2, 3}

// fixtureRecords builds six videos observed hourly for a day and two
// channels observed daily for ten days. The last record goes only to the
// index (not the lake): it is the "hot" point a series must still show.
func fixtureRecords() (recs []yt.Record, hot yt.Record) {
	at := fixtureAt
	titles := []string{"초등영어 파닉스 1강", "영어 듣기 평가", "먹방 ASMR 라면", "Elementary English for kids", "超初心者の英語", "初等英語 한글 섞임 🎉"}
	for h := 23; h >= 0; h-- {
		for i, title := range titles {
			v := &yt.Video{ID: fmt.Sprintf("video%06d", i), FetchedAt: at.Add(-time.Duration(h) * time.Hour)}
			v.Snippet = yt.VideoSnippet{Title: title, ChannelID: chanID(i % 2), ChannelTitle: fmt.Sprintf("채널 %d", i%2), PublishedAt: at.Add(-time.Duration(i)*time.Hour).AddDate(0, 0, -2), CategoryID: "27"}
			views := int64(1000*(i+1)) - viewRate[i]*int64(h)
			v.Statistics.ViewCount = yt.Int64(views)
			v.Statistics.LikeCount = yt.Int64(views / 10)
			v.Statistics.CommentCount = yt.Int64(views / 100)
			recs = append(recs, yt.NewVideoRecord("test", v))
		}
	}
	for d := 9; d >= 0; d-- {
		for ci, sub := range []struct {
			subs, step int64
			country    string
		}{{12345, 100, "KR"}, {50000, 2000, "US"}} {
			c := &yt.Channel{ID: chanID(ci), FetchedAt: at.AddDate(0, 0, -d)}
			c.Snippet.Title = fmt.Sprintf("채널 %d", ci)
			c.Snippet.Country = sub.country
			c.Snippet.PublishedAt = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
			c.Statistics.SubscriberCount = yt.Int64(sub.subs - sub.step*int64(d))
			c.Statistics.ViewCount = yt.Int64(1_000_000 - 10_000*int64(d))
			c.Statistics.VideoCount = yt.Int64(int64(3 + ci))
			recs = append(recs, yt.NewChannelRecord("test", c))
		}
	}
	// video000000's newest observation (h=0) is the hot one.
	for i, r := range recs {
		if r.Video != nil && r.Video.ID == "video000000" && r.Video.FetchedAt.Equal(at) {
			hot = r
			recs = append(recs[:i:i], recs[i+1:]...)
			break
		}
	}
	return recs, hot
}

type fixtureOpts struct {
	noLake bool
	keys   *api.KeyStore
	mod    func(*api.Config)
}

func fixture(t *testing.T) *httptest.Server { return fixtureWith(t, fixtureOpts{}) }

func fixtureWith(t *testing.T, o fixtureOpts) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	ix, err := index.Open("", index.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	recs, hot := fixtureRecords()
	if err := ix.Apply(ctx, append(recs[:len(recs):len(recs)], hot)); err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Index: ix, Now: func() time.Time { return fixtureNow }, Keys: o.keys,
		Status: api.StatusFunc(func(context.Context) (any, error) { return map[string]int{"ok": 1}, nil }),
		Quota: func() []quota.Usage {
			return []quota.Usage{{Key: "key-0a1b2c3d", Day: "2026-11-20", Used: 2500, Limit: 10000, Calls: 60}}
		}}
	if !o.noLake {
		dir := t.TempDir()
		l, err := lake.Open(ctx, dir, lake.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
		l.Close()
		db, err := lakesql.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		cfg.Lake = db
	}
	reg := prometheus.NewRegistry()
	cfg.Gatherer, cfg.Registerer = reg, reg
	if o.mod != nil {
		o.mod(&cfg)
	}
	h, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
