package schedule

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func leaseIDs(ls []Lease) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.ID)
	}
	slices.Sort(out)
	return out
}

// Release hands items back at once, Postpone not before its time; leased
// items count once in Stats and never as overdue.
func TestReleasePostponeStats(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "schedule.db"), Config{})
	defer s.Close()
	var vs []NewVideo
	for i := range 10 {
		vs = append(vs, NewVideo{ID: vid(i), ChannelID: "UCaaaaaaaaaaaaaaaaaaaaaa", Published: t0.Add(-30 * 24 * time.Hour)})
	}
	if _, err := s.AddVideos(vs, t0); err != nil {
		t.Fatal(err)
	}
	all, err := s.Lease(Video, t0, 10)
	if err != nil || len(all) != 10 {
		t.Fatalf("leased %d, %v", len(all), err)
	}
	if again, _ := s.Lease(Video, t0, 10); len(again) != 0 {
		t.Fatalf("leased items handed out twice: %v", leaseIDs(again))
	}
	late := t0.Add(time.Hour)
	rows, err := s.Stats(late, 0)
	if err != nil {
		t.Fatal(err)
	}
	var items, leased, overdue int
	for _, r := range rows {
		if r.Tier == ChannelTier {
			continue // AddVideos scheduled the channel too
		}
		items, leased, overdue = items+r.Items, leased+r.Leased, overdue+r.Overdue
	}
	if items != 10 || leased != 10 || overdue != 0 {
		t.Fatalf("stats with every item leased: items %d leased %d overdue %d, want 10 10 0", items, leased, overdue)
	}
	ids := leaseIDs(all)
	if err := s.Release(Video, ids[:3]); err != nil {
		t.Fatal(err)
	}
	// Postponed beyond any tier's slack (Lease takes items due within it).
	if err := s.Postpone(Video, ids[3:7], t0.Add(100*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if s.Leased() != 3 {
		t.Fatalf("leased %d after releasing 7 of 10", s.Leased())
	}
	got, err := s.Lease(Video, t0.Add(time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	if g := leaseIDs(got); !slices.Equal(g, ids[:3]) {
		t.Fatalf("after release: leased %v, want the released %v", g, ids[:3])
	}
	if err := s.Release(Video, ids); err != nil { // ids[3:7] are not leased: left alone
		t.Fatal(err)
	}
	got, _ = s.Lease(Video, t0.Add(time.Minute), 100)
	if g := leaseIDs(got); !slices.Equal(g, append(slices.Clone(ids[:3]), ids[7:]...)) {
		t.Fatalf("leased %v before the postponed ones are due", g)
	}
	got, _ = s.Lease(Video, t0.Add(100*24*time.Hour), 100)
	if g := leaseIDs(got); !slices.Equal(g, ids[3:7]) {
		t.Fatalf("at the postponed time: leased %v, want %v", g, ids[3:7])
	}
}

// A file written when leases were persisted (leased flag + leased bucket,
// no due entry) is repaired by Open: the item is due again.
func TestOpenReleasesPersistedLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.db")
	s := openT(t, path, Config{})
	s.Close()
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := ikey(Video, vid(1))
	err = db.Update(func(tx *bolt.Tx) error {
		it := &item{Ch: "UCaaaaaaaaaaaaaaaaaaaaaa", Due: t0.UnixMilli(), Tier: 1, Leased: true}
		if err := tx.Bucket(bItems).Put(key, encodeItem(it)); err != nil {
			return err
		}
		return tx.Bucket(bLeased).Put(key, nil)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = openT(t, path, Config{})
	defer s.Close()
	got, err := s.Lease(Video, t0, 10)
	if err != nil || len(got) != 1 || got[0].ID != vid(1) {
		t.Fatalf("after reopen: %v, %v; want %s due again", got, err, vid(1))
	}
}
