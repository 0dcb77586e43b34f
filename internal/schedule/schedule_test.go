package schedule

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func openT(t *testing.T, path string, cfg Config) *Store {
	t.Helper()
	s, err := Open(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func vid(i int) string { return fmt.Sprintf("vid%08d", i) }

func video(id string, pub time.Time, views int64, title string, at time.Time) *yt.Video {
	return &yt.Video{ID: id, Snippet: yt.VideoSnippet{ChannelID: "UCaaaaaaaaaaaaaaaaaaaaaa", PublishedAt: pub, Title: title,
		Thumbnail: yt.Thumbnail{URL: "https://i.ytimg.com/vi/" + id + "/hq.jpg"}}, Statistics: yt.VideoStatistics{ViewCount: yt.Int64(views)}, FetchedAt: at}
}

// A restart between lease and commit re-serves only what was not committed;
// committed items are not due again before their interval.
func TestRestartResumesWithoutRefetch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.db")
	s := openT(t, path, Config{})
	var vs []NewVideo
	for i := range 100 {
		vs = append(vs, NewVideo{ID: vid(i), ChannelID: "UCaaaaaaaaaaaaaaaaaaaaaa", Published: t0.Add(-30 * 24 * time.Hour)})
	}
	if n, err := s.AddVideos(vs, t0); err != nil || n != 100 {
		t.Fatalf("added %d, %v", n, err)
	}
	if n, _ := s.AddVideos(vs, t0); n != 0 {
		t.Fatalf("re-adding added %d", n)
	}
	leased, err := s.Lease(Video, t0, 60)
	if err != nil || len(leased) != 60 {
		t.Fatalf("leased %d, %v", len(leased), err)
	}
	if more, _ := s.Lease(Video, t0, 100); len(more) != 40 {
		t.Fatalf("second lease got %d, want the 40 not leased", len(more))
	}
	// Commit the first 30 of the first lease, then "crash" (close without
	// completing the rest).
	var obs []*yt.Video
	done := map[string]bool{}
	for _, l := range leased[:30] {
		obs = append(obs, video(l.ID, t0.Add(-30*24*time.Hour), 5000, "t", t0))
		done[l.ID] = true
	}
	b, err := s.Prepare(t0, obs, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.Leased() != 70 {
		t.Fatalf("leased = %d, want 70", s.Leased())
	}
	s.Close()

	s = openT(t, path, Config{})
	defer s.Close()
	if s.Leased() != 0 {
		t.Fatalf("leases survived the restart: %d", s.Leased())
	}
	again, err := s.Lease(Video, t0.Add(time.Minute), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 70 {
		t.Fatalf("after restart %d due, want 70", len(again))
	}
	for _, l := range again {
		if done[l.ID] {
			t.Fatalf("committed video %s handed out again in the same cycle", l.ID)
		}
	}
	// The committed ones come back at their tier's interval (cold: >= 7 days).
	due, tier := s.Due(Video, leased[0].ID)
	if tier != "cold" || due.Sub(t0) < 7*24*time.Hour {
		t.Fatalf("committed video due %v (%s), tier %s", due, due.Sub(t0), tier)
	}
}

func TestTierDueTimes(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Config{})
	defer s.Close()
	day := 24 * time.Hour
	cases := []struct {
		name       string
		age        time.Duration
		views      int64 // at first fetch; velocity = views / age
		tier       string
		minI, maxI time.Duration
	}{
		{"two hours old", 2 * time.Hour, 10, "hour", time.Hour, time.Hour},
		{"three days old", 3 * day, 10, "day", day, day},
		{"old but fast", 100 * day, 100 * 24 * 100 * 2, "day", day, day}, // 200 views/h
		{"old, 10 views/h", 100 * day, 100 * 24 * 10, "cold", 7 * day, 7 * day},
		{"old, 1 view/h", 100 * day, 100 * 24, "cold", 70 * day, 70 * day},
		{"old and dead", 1000 * day, 3, "cold", 90 * day, 90 * day},
	}
	for i, tc := range cases {
		id := vid(i)
		b, err := s.Prepare(t0, []*yt.Video{video(id, t0.Add(-tc.age), tc.views, "x", t0)}, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		due, tier := s.Due(Video, id)
		iv := due.Sub(t0)
		if tier != tc.tier || iv < tc.minI-time.Minute || iv > tc.maxI+time.Minute {
			t.Errorf("%s: tier %s interval %s, want %s in [%s, %s]", tc.name, tier, iv, tc.tier, tc.minI, tc.maxI)
		}
	}
	// Channels: daily.
	if _, err := s.AddChannels([]string{"UCaaaaaaaaaaaaaaaaaaaaaa"}, t0); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Prepare(t0, nil, []*yt.Channel{{ID: "UCaaaaaaaaaaaaaaaaaaaaaa", FetchedAt: t0}}, nil, nil)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if due, tier := s.Due(Channel, "UCaaaaaaaaaaaaaaaaaaaaaa"); tier != ChannelTier || due.Sub(t0) != day {
		t.Errorf("channel due %s tier %s", due.Sub(t0), tier)
	}
	// Nothing is due now; the hour-tier video is due (with slack) in 54 minutes.
	if l, _ := s.Lease(Video, t0.Add(50*time.Minute), 10); len(l) != 0 {
		t.Fatalf("leased %d before due", len(l))
	}
	if l, _ := s.Lease(Video, t0.Add(55*time.Minute), 10); len(l) != 1 || l[0].ID != vid(0) || l[0].Tier != "hour" {
		t.Fatalf("lease at +55m = %+v, want the hour-tier video", l)
	}
	rows, err := s.Stats(t0.Add(30*24*time.Hour), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]TierStat{}
	for _, r := range rows {
		got[r.Tier] = r
	}
	if got["hour"].Items != 1 || got["hour"].Leased != 1 || got["day"].Items != 2 || got["day"].Overdue != 2 || got["cold"].Items != 3 || got["cold"].Overdue != 1 {
		t.Fatalf("stats %+v", rows)
	}
}

func TestPriorityByExpectedChange(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Config{})
	defer s.Close()
	old := t0.Add(-400 * 24 * time.Hour)
	// Two fetches so velocities are measured: video i gains i*1000 views in 100 days.
	var first, second []*yt.Video
	for i := range 10 {
		first = append(first, video(vid(i), old, 1000, "x", t0.Add(-100*24*time.Hour)))
		second = append(second, video(vid(i), old, 1000+int64(i)*1000, "x", t0))
	}
	for _, vs := range [][]*yt.Video{first, second} {
		b, err := s.Prepare(vs[0].FetchedAt, vs, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.Lease(Video, t0.Add(200*24*time.Hour), 3)
	if err != nil || len(l) != 3 {
		t.Fatalf("lease %v %v", l, err)
	}
	for i, want := range []string{vid(9), vid(8), vid(7)} {
		if l[i].ID != want {
			t.Fatalf("lease order %v, want fastest first", l)
		}
	}
}

func TestEventsTitleTagsThumbMilestones(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "s.db"), Config{})
	defer s.Close()
	pub := t0.Add(-10 * 24 * time.Hour)
	v1 := video("abcdefghijk", pub, 999_500, "old title", t0)
	v1.Snippet.Tags = []string{"a", "b"}
	b, _ := s.Prepare(t0, []*yt.Video{v1}, nil, nil, nil)
	if len(b.Events) != 0 {
		t.Fatalf("first observation emitted %v", b.Events)
	}
	if len(b.NewChannels) != 1 {
		t.Fatalf("referenced channel not proposed: %v", b.NewChannels)
	}
	b.Commit()
	at := t0.Add(24 * time.Hour)
	v2 := video("abcdefghijk", pub, 1_000_100, "new title", at)
	v2.Snippet.Tags = []string{"a", "c"}
	v2.Snippet.Thumbnail.URL = "https://i.ytimg.com/vi/abcdefghijk/maxres.jpg"
	b, _ = s.Prepare(at, []*yt.Video{v2}, nil, nil, nil)
	got := map[yt.EventType]yt.Event{}
	for _, e := range b.Events {
		got[e.Type] = e
	}
	if e := got[yt.EventTitleChanged]; e.Old != "old title" || e.New != "new title" {
		t.Errorf("title event %+v", e)
	}
	if e := got[yt.EventMilestone]; e.New != "1000000" || e.Old != "999500" {
		t.Errorf("milestone event %+v", e)
	}
	if _, ok := got[yt.EventTagsChanged]; !ok {
		t.Error("no tags event")
	}
	if _, ok := got[yt.EventThumbnailChanged]; !ok {
		t.Error("no thumbnail event")
	}
	if _, ok := got[yt.EventDescriptionChanged]; ok || len(b.Events) != 4 {
		t.Errorf("events %+v", b.Events)
	}
	b.Commit()
	// Gone: leaves the schedule.
	b, _ = s.Prepare(at, nil, nil, []string{"abcdefghijk"}, nil)
	b.Commit()
	if due, _ := s.Due(Video, "abcdefghijk"); !due.IsZero() {
		t.Fatal("tombstoned video still scheduled")
	}
	if l, _ := s.Lease(Video, at.Add(1000*24*time.Hour), 10); len(l) != 0 {
		t.Fatal("tombstoned video leased")
	}
}

func TestShardsCoverEveryChannelOnce(t *testing.T) {
	const n = 4
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = fmt.Sprintf("UC%022d", i)
	}
	owner := map[string]int{}
	total := 0
	for i := range n {
		s := openT(t, filepath.Join(t.TempDir(), "s.db"), Config{Shard: Shard{Index: i, Count: n}})
		added, err := s.AddChannels(ids, t0)
		if err != nil {
			t.Fatal(err)
		}
		total += added
		got, _ := s.ChannelIDs(0)
		if len(got) != added || added < 2000/n/2 {
			t.Fatalf("shard %d: %d channels listed, %d added", i, len(got), added)
		}
		for _, id := range got {
			if prev, dup := owner[id]; dup {
				t.Fatalf("channel %s in shards %d and %d", id, prev, i)
			}
			owner[id] = i
		}
		// Videos follow their channel.
		added, _ = s.AddVideos([]NewVideo{{ID: "abcdefghijk", ChannelID: ids[0]}}, t0)
		if (added == 1) != (ShardOf(ids[0], n) == i) {
			t.Fatalf("shard %d took a video of shard %d", i, ShardOf(ids[0], n))
		}
		s.Close()
	}
	if total != len(ids) || len(owner) != len(ids) {
		t.Fatalf("%d channels placed of %d", total, len(ids))
	}
	if _, err := ParseShard("4/4"); err == nil {
		t.Fatal("4/4 accepted")
	}
	if sh, err := ParseShard("1/3"); err != nil || sh != (Shard{1, 3}) {
		t.Fatalf("ParseShard(1/3) = %v, %v", sh, err)
	}
	// A data dir belongs to one shard.
	p := filepath.Join(t.TempDir(), "s.db")
	openT(t, p, Config{Shard: Shard{0, 2}}).Close()
	if _, err := Open(p, Config{Shard: Shard{1, 2}}); err == nil {
		t.Fatal("reopened with another shard")
	}
}

// Store.Commit stores several prepared batches in one transaction: every
// lease of every batch is completed, and the items get their next due time.
func TestCommitSeveralBatches(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "schedule.db"), Config{})
	defer s.Close()
	pub := t0.Add(-30 * 24 * time.Hour)
	var vs []NewVideo
	for i := range 120 {
		vs = append(vs, NewVideo{ID: vid(i), ChannelID: "UCaaaaaaaaaaaaaaaaaaaaaa", Published: pub})
	}
	if _, err := s.AddVideos(vs, t0); err != nil {
		t.Fatal(err)
	}
	leased, err := s.Lease(Video, t0, 120)
	if err != nil || len(leased) != 120 {
		t.Fatalf("leased %d, %v", len(leased), err)
	}
	var bs []*Batch
	for lo := 0; lo < len(leased); lo += 50 {
		var obs []*yt.Video
		var gone []string
		for i, l := range leased[lo:min(lo+50, len(leased))] {
			if i == 0 {
				gone = append(gone, l.ID)
				continue
			}
			obs = append(obs, video(l.ID, pub, 100, "t", t0))
		}
		b, err := s.Prepare(t0, obs, nil, gone, nil)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	if err := s.Commit(bs...); err != nil {
		t.Fatal(err)
	}
	if n := s.Leased(); n != 0 {
		t.Fatalf("%d items still leased after the commit", n)
	}
	if again, _ := s.Lease(Video, t0.Add(time.Hour), 200); len(again) != 0 {
		t.Fatalf("%d committed items due again an hour later", len(again))
	}
	if due, _ := s.Due(Video, leased[1].ID); !due.After(t0) {
		t.Fatalf("next due %v not after the fetch", due)
	}
	if due, _ := s.Due(Video, leased[0].ID); !due.IsZero() {
		t.Fatalf("tombstoned video still scheduled at %v", due)
	}
}
