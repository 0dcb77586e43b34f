package api

import (
	"testing"
	"time"
)

func TestHotSlot(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		fetched  time.Time
		iv       string
		points   []time.Time
		wantAt   time.Time
		wantKeep int
		wantOK   bool
	}{
		{"empty raw", day(10, 30), "raw", nil, day(10, 30), 0, true},
		{"newer raw appends", day(10, 30), "raw", []time.Time{day(9, 0)}, day(10, 30), 1, true},
		{"not newer is dropped", day(9, 0), "raw", []time.Time{day(9, 0)}, time.Time{}, 0, false},
		{"same hour bucket replaces the last point", day(10, 45), "hour", []time.Time{day(9, 0), day(10, 0)}, day(10, 0), 1, true},
		{"next hour bucket appends", day(11, 5), "hour", []time.Time{day(10, 0)}, day(11, 0), 1, true},
		{"day bucket", day(23, 59), "day", []time.Time{day(0, 0)}, day(0, 0), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, keep, ok := hotSlot(tc.fetched, tc.iv, len(tc.points), func(i int) time.Time { return tc.points[i] })
			if ok != tc.wantOK || keep != tc.wantKeep || !at.Equal(tc.wantAt) {
				t.Fatalf("got (%v, %d, %v), want (%v, %d, %v)", at, keep, ok, tc.wantAt, tc.wantKeep, tc.wantOK)
			}
		})
	}
}
