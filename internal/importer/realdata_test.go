package importer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

// sharedData is the real-data directory shared by the project's tests.
const sharedData = "../../../shared/data"

func needSharedData(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(sharedData); err != nil {
		t.Skipf("real test data not found at %s (see docs/CONVENTIONS.md): %v", sharedData, err)
	}
}

// collect imports a file and returns all emitted records.
func collect(t *testing.T, path string, opts Options) ([]yt.Record, Stats, error) {
	t.Helper()
	var recs []yt.Record
	st, err := ReadFile(context.Background(), path, opts, func(_ context.Context, b []yt.Record) error {
		recs = append(recs, b...)
		return nil
	})
	return recs, st, err
}

func TestRealData(t *testing.T) {
	needSharedData(t)
	kaggle := map[string]int{"KR": 992, "JP": 658, "US": 872, "GB": 852, "CA": 831, "BR": 943, "DE": 782, "FR": 956, "IN": 740, "MX": 966, "RU": 601}
	type tc struct {
		path     string
		format   string
		videos   int
		channels int
	}
	var cases []tc
	for cc, n := range kaggle {
		cases = append(cases, tc{"trending/kaggle-rsrishav-2020-08-sample/" + cc + "_youtube_trending_data.csv.gz", FormatRsrishav, n, 0})
	}
	cases = append(cases,
		tc{"trending/kr-2024-04-22-sample/KR_youtube_trending_data.csv.gz", FormatRsrishavNH, 600, 0},
		tc{"trending/fedelux3-2020-04-kr/KR_videos_2020-04-01_to_2020-04-04.jsonl.gz", FormatFedelux3, 2273, 0},
		tc{"trending/kr-jp-us-mostpopular-2025-11/videos_latest.csv.gz", FormatMostPopular, 22142, 0},
		tc{"api/python-youtube/apidata/videos/videos_info_single.json", FormatAPIJSON, 1, 0},
		tc{"api/python-youtube/apidata/videos/videos_info_multi.json", FormatAPIJSON, 2, 0},
		tc{"api/python-youtube/apidata/videos/videos_chart_paged_1.json", FormatAPIJSON, 5, 0},
		tc{"api/python-youtube/apidata/videos/videos_chart_paged_2.json", FormatAPIJSON, 3, 0},
		tc{"api/python-youtube/apidata/videos/videos_myrating_paged_1.json", FormatAPIJSON, 2, 0},
		tc{"api/python-youtube/apidata/videos/insert_response.json", FormatAPIJSON, 1, 0},
		tc{"api/react-youtube-mock/popular.json", FormatAPIJSON, 25, 0},
		tc{"api/react-youtube-mock/channel.json", FormatAPIJSON, 0, 1},
		tc{"api/python-youtube/apidata/channels/info.json", FormatAPIJSONL, 0, 1},
		tc{"api/python-youtube/apidata/channels/info_multiple.json", "", 0, 2},
		tc{"api/python-youtube/apidata/channel_info_multi.json", "", 0, 2},
	)
	for _, c := range cases {
		t.Run(filepath.Base(filepath.Dir(c.path))+"/"+filepath.Base(c.path), func(t *testing.T) {
			recs, st, err := collect(t, filepath.Join(sharedData, c.path), Options{OnError: Fail, ObservedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if c.format != "" && st.Format != c.format {
				t.Errorf("format %q, want %q", st.Format, c.format)
			}
			var videos, channels int
			ids := map[string]bool{}
			for i := range recs {
				r := &recs[i]
				if err := r.Validate(); err != nil {
					t.Errorf("record %d: %v", i, err)
				}
				if ids[r.ID] {
					t.Errorf("duplicate record id %s", r.ID)
				}
				ids[r.ID] = true
				switch r.Kind {
				case yt.KindVideo:
					videos++
				case yt.KindChannel:
					channels++
				}
			}
			if videos != c.videos || channels != c.channels {
				t.Errorf("got %d videos, %d channels; want %d, %d", videos, channels, c.videos, c.channels)
			}
			if st.Records != int64(len(recs)) || st.Skipped != 0 {
				t.Errorf("stats %+v", st)
			}
			fi, _ := os.Stat(filepath.Join(sharedData, c.path))
			if st.Bytes != fi.Size() {
				t.Errorf("Bytes %d, file size %d", st.Bytes, fi.Size())
			}
		})
	}
}
