package schedule

import (
	"encoding/json"
	"hash/fnv"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tubelake/tubelake/internal/yt"
)

func TestItemCodecRoundTrip(t *testing.T) {
	for _, it := range []item{
		{},
		{Ch: "UCaaaaaaaaaaaaaaaaaaaaaa", Pub: 1_700_000_000, Due: 1_800_000_000_000, Tier: 3, At: 1_799_000_000_000, Views: 123456789,
			Vel: 12.5, Title: "héllo", Desc: 1<<63 | 5, Tags: 7, Thumb: "https://i.ytimg.com/vi/x/hq.jpg", Gone: true, Leased: true, Iv: 86_400_000, Walked: true},
		{Due: -1, Views: -3, Vel: -0.25},
	} {
		b := encodeItem(&it)
		var got item
		if err := decodeItem(b, &got, false); err != nil || !reflect.DeepEqual(got, it) {
			t.Fatalf("round trip %+v: got %+v, %v", it, got, err)
		}
		ch, err := decodeCh(b)
		if err != nil || ch != it.Ch {
			t.Fatalf("decodeCh = %q, %v", ch, err)
		}
		head := it
		head.Ch, head.Title, head.Thumb = "", "", ""
		if err := decodeItem(b, &got, true); err != nil || !reflect.DeepEqual(got, head) {
			t.Fatalf("head %+v: got %+v, %v", head, got, err)
		}
		for n := range len(b) {
			if err := decodeItem(b[:n], &got, false); err == nil {
				t.Fatalf("truncated to %d bytes: no error", n)
			}
		}
	}
	if err := decodeItem([]byte{0x7f, 0, 0}, &item{}, false); err == nil {
		t.Fatal("unknown version accepted")
	}
}

// A schedule.db written with JSON items (before the binary encoding) opens,
// leases, commits and migrates item by item.
func TestLegacyJSONItems(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedule.db")
	s := openT(t, path, Config{})
	var vs []NewVideo
	for i := range 10 {
		vs = append(vs, NewVideo{ID: vid(i), ChannelID: "UCaaaaaaaaaaaaaaaaaaaaaa", Published: t0.Add(-30 * 24 * time.Hour)})
	}
	if _, err := s.AddVideos(vs, t0); err != nil {
		t.Fatal(err)
	}
	// Rewrite every item as JSON, as the previous version stored them.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bItems)
		var keys [][]byte
		b.ForEach(func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
		for _, k := range keys {
			it, err := getItem(tx, k)
			if err != nil {
				return err
			}
			j, _ := json.Marshal(it)
			if err := b.Put(k, j); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.Unwalked(10); err != nil || len(ids) != 1 {
		t.Fatalf("unwalked %v, %v", ids, err)
	}
	ls, err := s.Lease(Video, t0, 4)
	if err != nil || len(ls) != 4 || ls[0].ChannelID != "UCaaaaaaaaaaaaaaaaaaaaaa" {
		t.Fatalf("lease %+v, %v", ls, err)
	}
	s.Close()
	s = openT(t, path, Config{}) // releases the leases
	defer s.Close()
	if s.Leased() != 0 {
		t.Fatal("leases survived a restart")
	}
	ls, err = s.Lease(Video, t0, 10)
	if err != nil || len(ls) != 10 {
		t.Fatalf("lease %d, %v", len(ls), err)
	}
	b, err := s.Prepare(t0, []*yt.Video{video(ls[0].ID, t0.Add(-30*24*time.Hour), 5, "t", t0)}, nil, []string{ls[1].ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Due(Video, ls[0].ID); !d.After(t0) {
		t.Fatalf("due %v", d)
	}
	if d, _ := s.Due(Video, ls[1].ID); !d.IsZero() {
		t.Fatalf("gone video still due %v", d)
	}
	if v, ok := s.LastViews(ls[0].ID); !ok || v != 5 {
		t.Fatalf("views %d %v", v, ok)
	}
	if s.Leased() != 8 {
		t.Fatalf("leased %d", s.Leased())
	}
}

func TestHashesMatchFNV(t *testing.T) {
	ref := func(s string) uint64 { h := fnv.New64a(); h.Write([]byte(s)); return h.Sum64() | 1 }
	for _, s := range []string{"", "a", "héllo wörld", "x\x1fy"} {
		if hash64(s) != ref(s) {
			t.Fatalf("hash64(%q)", s)
		}
	}
	for _, tags := range [][]string{nil, {"a"}, {"a", "b", ""}, {"", ""}} {
		if tagsHash(tags) != ref(strings.Join(tags, "\x1f")) {
			t.Fatalf("tagsHash(%q)", tags)
		}
	}
}
