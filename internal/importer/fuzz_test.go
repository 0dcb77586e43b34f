package importer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tubelake/tubelake/internal/yt"
)

// addSeeds adds the testdata files as seeds; with split, cut into small
// pieces of a few lines (whole JSON files made the coverage-guided mutator
// stall for minutes on the first mutation).
func addSeeds(f *testing.F, split bool, files ...string) {
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		if !split {
			f.Add(data)
			continue
		}
		lines := bytes.SplitAfter(data, []byte{'\n'})
		for i := 0; i < len(lines); i += 4 {
			seed := bytes.Join(lines[i:min(i+4, len(lines))], nil)
			if len(seed) > 600 {
				seed = seed[:600]
			}
			f.Add(seed)
		}
	}
}

// fuzzRead imports data in both modes and checks the invariants: no panic,
// every emitted record is valid with a unique id, the counts add up, every
// LineError has a line within the input, and Fail stops at a *LineError.
func fuzzRead(t *testing.T, data []byte) {
	lines := bytes.Count(data, []byte{'\n'}) + 1
	for _, mode := range []OnError{Skip, Fail} {
		ids := map[string]bool{}
		var n int64
		st, err := Read(context.Background(), bytes.NewReader(data), "fuzz", Options{OnError: mode, ObservedAt: observed, BatchSize: 3}, func(_ context.Context, b []yt.Record) error {
			for i := range b {
				if err := b[i].Validate(); err != nil {
					t.Fatalf("emitted invalid record: %v", err)
				}
				if ids[b[i].ID] {
					t.Fatalf("duplicate id %s", b[i].ID)
				}
				ids[b[i].ID] = true
			}
			n += int64(len(b))
			return nil
		})
		if n != st.Records {
			t.Fatalf("%s: emitted %d, Stats.Records %d", mode, n, st.Records)
		}
		if len(st.Errors) > MaxErrors || int64(len(st.Errors)) > st.Skipped {
			t.Fatalf("%s: %d errors kept for %d skipped", mode, len(st.Errors), st.Skipped)
		}
		for _, e := range st.Errors {
			if e.Line < 1 || e.Line > lines || e.File != "fuzz" {
				t.Fatalf("%s: error at line %d of a %d-line input: %v", mode, e.Line, lines, e.Error())
			}
		}
		if mode == Fail && (st.Skipped > 0 || len(st.Errors) > 0) {
			t.Fatalf("fail mode skipped a record: %+v (err %v)", st, err)
		}
		var le *LineError
		if errors.As(err, &le) && (le.Line < 1 || le.Line > lines || le.File != "fuzz") {
			t.Fatalf("%s: error at line %d of a %d-line input: %v", mode, le.Line, lines, err)
		}
		if mode == Skip && err == nil && st.Skipped != int64(len(st.Errors)) && len(st.Errors) < MaxErrors {
			t.Fatalf("skip: %d skipped, %d errors", st.Skipped, len(st.Errors))
		}
	}
}

func FuzzReadJSONL(f *testing.F) {
	addSeeds(f, true, "api_videos.jsonl", "bad_api.jsonl", "api_list_pretty.json", "fedelux3.jsonl")
	f.Add([]byte(`[{"kind":"youtube#video","id":"D-lhorsDlUQ","statistics":{"viewCount":1e3}}]`))
	f.Add([]byte("{\n\"items\":[[{\"id\":\"UC_x5XG1OV2P6uZZ5FSM9Ttw\"}]]}"))
	f.Fuzz(fuzzRead)
}

func FuzzReadCSV(f *testing.F) {
	addSeeds(f, false, "rsrishav.csv", "rsrishav_noheader.csv", "bad_rsrishav.csv", "datasnaek.csv", "datasnaek_noheader.csv", "mostpopular.csv")
	f.Add([]byte("video_id,trending_date,publish_time,title\n\"a\n"))
	f.Fuzz(fuzzRead)
}
