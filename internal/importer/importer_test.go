package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/yt"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// observed is the fallback observation time used by the tests.
var observed = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// readAll imports data and returns all emitted records.
func readAll(t testing.TB, data []byte, name string, opts Options) ([]yt.Record, Stats, error) {
	t.Helper()
	var recs []yt.Record
	st, err := Read(context.Background(), bytes.NewReader(data), name, opts, func(_ context.Context, b []yt.Record) error {
		recs = append(recs, b...)
		return nil
	})
	return recs, st, err
}

type golden struct {
	Format      string      `json:"format"`
	Records     int64       `json:"records"`
	Skipped     int64       `json:"skipped"`
	TimeShifted int64       `json:"timeShifted"`
	Errors      []string    `json:"errors,omitempty"`
	Out         []yt.Record `json:"out"`
}

// TestGolden imports every input under testdata in Skip mode and compares the
// records, stats and errors with testdata/golden/<file>.golden. Run with
// -update to rewrite the golden files after a deliberate change.
func TestGolden(t *testing.T) {
	tests := []struct {
		file   string
		format string
	}{
		{"api_videos.jsonl", FormatAPIJSONL},
		{"api_list_pretty.json", FormatAPIJSON},
		{"bad_api.jsonl", FormatAPIJSONL},
		{"rsrishav.csv", FormatRsrishav},
		{"rsrishav_noheader.csv", FormatRsrishavNH},
		{"bad_rsrishav.csv", FormatRsrishav},
		{"datasnaek.csv", FormatDatasnaek},
		{"datasnaek_noheader.csv", FormatDatasnaekNH},
		{"fedelux3.jsonl", FormatFedelux3},
		{"mostpopular.csv", FormatMostPopular},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			recs, st, err := readAll(t, data, tc.file, Options{OnError: Skip, ObservedAt: observed, BatchSize: 2})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if st.Format != tc.format {
				t.Errorf("format %q, want %q", st.Format, tc.format)
			}
			for i := range recs {
				if err := recs[i].Validate(); err != nil {
					t.Errorf("record %d invalid: %v", i, err)
				}
			}
			g := golden{Format: st.Format, Records: st.Records, Skipped: st.Skipped, TimeShifted: st.TimeShifted, Out: recs}
			for _, e := range st.Errors {
				g.Errors = append(g.Errors, e.Error())
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", tc.file+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run with -update after checking the change):\n%s", path, firstDiff(string(want), string(got)))
			}
		})
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, w, g)
		}
	}
	return ""
}

// TestBadLines checks, for each malformed input, the reported lines in Skip
// mode (all valid records kept) and in Fail mode (stops at the first bad
// line, having emitted exactly the valid records before it).
func TestBadLines(t *testing.T) {
	tests := []struct {
		file      string
		badLines  []int
		goodLines []int // line of each valid record, in order
	}{
		{"bad_rsrishav.csv", []int{4, 5, 6, 8, 9, 13, 14}, []int{2, 10, 15}},
		{"bad_api.jsonl", []int{2, 3, 5, 6, 7, 8, 9, 10, 12, 13}, []int{1, 11, 13, 14}},
		{"api_list_pretty.json", []int{27, 32}, []int{10, 38}},
	}
	for _, tc := range tests {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tc.file+"/skip", func(t *testing.T) {
			for _, gz := range []bool{false, true} {
				in := data
				if gz {
					in = gzipped(t, data)
				}
				recs, st, err := readAll(t, in, tc.file, Options{OnError: Skip, ObservedAt: observed, BatchSize: 1})
				if err != nil {
					t.Fatalf("gzip=%v: Read: %v", gz, err)
				}
				var lines []int
				for _, e := range st.Errors {
					lines = append(lines, e.Line)
					if e.File != tc.file || !strings.HasPrefix(e.Error(), fmt.Sprintf("%s:%d: ", tc.file, e.Line)) {
						t.Errorf("error %q does not start with file:line", e.Error())
					}
				}
				if fmt.Sprint(lines) != fmt.Sprint(tc.badLines) {
					t.Errorf("gzip=%v: bad lines %v, want %v (errors: %v)", gz, lines, tc.badLines, st.Errors)
				}
				if len(recs) != len(tc.goodLines) || st.Records != int64(len(recs)) || st.Skipped != int64(len(tc.badLines)) {
					t.Errorf("gzip=%v: %d records, stats %+v; want %d records", gz, len(recs), st, len(tc.goodLines))
				}
			}
		})
		t.Run(tc.file+"/fail", func(t *testing.T) {
			for _, batch := range []int{1, 2, 1000} {
				recs, st, err := readAll(t, data, tc.file, Options{OnError: Fail, ObservedAt: observed, BatchSize: batch})
				var le *LineError
				if !errors.As(err, &le) {
					t.Fatalf("batch %d: error %v, want a *LineError", batch, err)
				}
				if le.Line != tc.badLines[0] || le.File != tc.file {
					t.Errorf("batch %d: error at %s:%d, want line %d", batch, le.File, le.Line, tc.badLines[0])
				}
				before := 0
				for _, l := range tc.goodLines {
					if l < tc.badLines[0] {
						before++
					}
				}
				if len(recs) != before || st.Records != int64(before) || st.Skipped != 0 || len(st.Errors) != 0 {
					t.Errorf("batch %d: emitted %d records (stats %+v), want the %d before the bad line", batch, len(recs), st, before)
				}
			}
		})
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDeterministic: importing the same input twice, in any batch size, plain
// or gzipped, from a file or a reader, yields the same records and ids.
func TestDeterministic(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "rsrishav.csv"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "in.csv.gz")
	if err := os.WriteFile(path, gzipped(t, data), 0o644); err != nil {
		t.Fatal(err)
	}
	a, _, err := readAll(t, data, "a", Options{BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, st, err := collect(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("two imports differ:\n%s\n%s", ja, jb)
	}
	if st.Format != FormatRsrishav || st.Records != 4 || st.TimeShifted != 1 {
		t.Errorf("stats %+v", st)
	}
	// The repeated (video, trending_date) is kept, 1µs later.
	if a[3].Video.FetchedAt.Sub(a[2].Video.FetchedAt) != time.Microsecond || a[2].ID == a[3].ID {
		t.Errorf("same-time observations not disambiguated: %s %s", a[2].ID, a[3].ID)
	}
}

func TestObservedAt(t *testing.T) {
	line := []byte(`{"kind":"youtube#video","id":"D-lhorsDlUQ"}` + "\n")
	// Read without ObservedAt cannot date the record: fatal in both modes.
	for _, mode := range []OnError{Skip, Fail} {
		_, _, err := readAll(t, line, "x.jsonl", Options{OnError: mode})
		if !errors.Is(err, ErrNoObservedAt) {
			t.Errorf("%s: err %v, want ErrNoObservedAt", mode, err)
		}
	}
	// ReadFile defaults it to the file's modification time.
	path := filepath.Join(t.TempDir(), "x.jsonl")
	if err := os.WriteFile(path, line, 0o644); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	recs, _, err := collect(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || !recs[0].Video.FetchedAt.Equal(yt.TruncMicros(mtime)) || recs[0].ID != "video:D-lhorsDlUQ:1741064767890123" {
		t.Errorf("got %+v", recs)
	}
	// A record's own time wins over ObservedAt.
	own := []byte(`{"kind":"youtube#video","id":"D-lhorsDlUQ","fetchedAt":"2024-01-01T00:00:00Z"}`)
	recs, _, err = readAll(t, own, "y", Options{ObservedAt: observed})
	if err != nil || len(recs) != 1 || recs[0].Video.FetchedAt != time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) {
		t.Errorf("own time: %v %+v", err, recs)
	}
}

func TestDefaultsAndSource(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join("testdata", "fedelux3.jsonl"))
	var batches []int
	st, err := Read(context.Background(), bytes.NewReader(data), "f", Options{Source: "kaggle"}, func(_ context.Context, b []yt.Record) error {
		batches = append(batches, len(b))
		for _, r := range b {
			if r.Source != "kaggle" {
				t.Errorf("source %q", r.Source)
			}
		}
		return nil
	})
	if err != nil || fmt.Sprint(batches) != "[2]" || st.Records != 2 {
		t.Errorf("err %v batches %v stats %+v", err, batches, st)
	}
	recs, _, _ := readAll(t, data, "f", Options{})
	if recs[0].Source != "import" {
		t.Errorf("default source %q", recs[0].Source)
	}
	if _, err := ParseOnError("ignore"); err == nil {
		t.Error("ParseOnError accepted ignore")
	}
	if _, _, err := readAll(t, data, "f", Options{OnError: "ignore"}); err == nil {
		t.Error("Read accepted OnError ignore")
	}
	// Default mode is Fail.
	bad, _ := os.ReadFile(filepath.Join("testdata", "bad_api.jsonl"))
	if _, _, err := readAll(t, bad, "b", Options{ObservedAt: observed}); err == nil {
		t.Error("default OnError did not fail")
	}
}

func TestEmitErrorAndCancel(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join("testdata", "rsrishav.csv"))
	boom := errors.New("boom")
	calls := 0
	st, err := Read(context.Background(), bytes.NewReader(data), "f", Options{BatchSize: 1}, func(context.Context, []yt.Record) error {
		calls++
		if calls == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || st.Records != 1 {
		t.Errorf("err %v stats %+v", err, st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Read(ctx, bytes.NewReader(data), "f", Options{}, func(context.Context, []yt.Record) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
}

func TestProgressAndBytes(t *testing.T) {
	// ~3 MiB of JSONL: progress is reported along the way and at the end.
	var b bytes.Buffer
	for i := 0; b.Len() < 3<<20; i++ {
		fmt.Fprintf(&b, `{"kind":"youtube#video","id":"D-lhorsDlUQ","snippet":{"title":"%d %s"}}`+"\n", i, strings.Repeat("x", 200))
	}
	var reports []int64
	_, st, err := readAll(t, b.Bytes(), "big", Options{ObservedAt: observed, Progress: func(n int64) { reports = append(reports, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) < 3 || reports[len(reports)-1] != int64(b.Len()) || st.Bytes != int64(b.Len()) {
		t.Errorf("reports %v, bytes %d, want last = %d", reports, st.Bytes, b.Len())
	}
	if st.TimeShifted != st.Records-1 {
		t.Errorf("same video, same time: %d shifted of %d", st.TimeShifted, st.Records)
	}
}

func TestFatalInputs(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown csv", "a,b,c\n1,2,3\n", "x:1: unrecognised input"},
		{"missing column", "video_id,trending_date,publishedAt\n", `header without column "title"`},
		{"bad gzip", "\x1f\x8b\x08\x00garbage", "gunzip"},
		{"broken document", "{\n  \"kind\": \"youtube#videoListResponse\",\n  \"items\": [\n    {\"id\": \n", "x:1: invalid JSON document: unexpected EOF"},
		{"syntax error in document", "{\n  \"kind\": \"youtube#video\",\n  \"id\": x\n}\n", "x:3: invalid JSON document: invalid character 'x'"},
	}
	for _, tc := range tests {
		for _, mode := range []OnError{Skip, Fail} {
			_, _, err := readAll(t, []byte(tc.in), "x", Options{OnError: mode, ObservedAt: observed})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s/%s: err %v, want %q", tc.name, mode, err, tc.want)
			}
		}
	}
	// Empty and blank inputs are fine.
	for _, in := range []string{"", "\n\n  \n", "\xef\xbb\xbf"} {
		_, st, err := readAll(t, []byte(in), "e", Options{})
		if err != nil || st.Records != 0 || st.Format != FormatEmpty {
			t.Errorf("%q: %v %+v", in, err, st)
		}
	}
}

func TestBOMAndArray(t *testing.T) {
	in := "\xef\xbb\xbf[\n" + `{"kind":"youtube#video","id":"D-lhorsDlUQ"},` + "\n" + `{"kind":"youtube#video","id":"bad"}` + "\n]\n"
	recs, st, err := readAll(t, []byte(in), "a.json", Options{OnError: Skip, ObservedAt: observed})
	if err != nil || len(recs) != 1 || st.Skipped != 1 || st.Errors[0].Line != 3 || st.Format != FormatAPIJSON {
		t.Errorf("err %v recs %d stats %+v", err, len(recs), st)
	}
}

func TestFailErrorMessage(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join("testdata", "bad_rsrishav.csv"))
	_, _, err := readAll(t, data, "in/bad.csv", Options{OnError: Fail})
	want := `import: in/bad.csv:4: video "uq5LClQN3c": invalid video id "uq5LClQN3c": want 11 characters of [0-9A-Za-z_-]`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

func TestTruncatedGzip(t *testing.T) {
	var b bytes.Buffer
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, `{"kind":"youtube#video","id":"D-lhorsDlUQ","fetchedAt":"2024-01-01T00:00:%02d.%06dZ"}`+"\n", i/1000, i)
	}
	z := gzipped(t, b.Bytes())
	recs, st, err := readAll(t, z[:len(z)/2], "t.jsonl.gz", Options{OnError: Fail, BatchSize: 100000})
	if err == nil || !strings.Contains(err.Error(), "gunzip") || st.Skipped != 0 {
		t.Fatalf("err %v (stats %+v), want a gunzip error", err, st)
	}
	if len(recs) == 0 || st.Records != int64(len(recs)) {
		t.Errorf("records read before the corruption were not emitted: %d, %+v", len(recs), st)
	}
}

func TestTruncatedGzipCSV(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join("testdata", "rsrishav.csv"))
	var b bytes.Buffer
	b.Write(data)
	row := data[bytes.IndexByte(data, '\n')+1:]
	for b.Len() < 200<<10 {
		b.Write(row)
	}
	z := gzipped(t, b.Bytes())
	for _, mode := range []OnError{Skip, Fail} {
		recs, st, err := readAll(t, z[:len(z)/2], "t.csv.gz", Options{OnError: mode})
		if err == nil || !strings.Contains(err.Error(), "gunzip") || st.Skipped != 0 || len(recs) == 0 {
			t.Errorf("%s: err %v, %d records, stats %+v; want a gunzip error after some records", mode, err, len(recs), st)
		}
	}
}

// TestUniqueTimes: observations at t+1µs.. already taken push a repeated
// observation at t past all of them, and ids stay unique.
func TestUniqueTimes(t *testing.T) {
	var b bytes.Buffer
	for _, us := range []int{1, 2, 3, 0, 0, 0, 5, 5} {
		fmt.Fprintf(&b, `{"kind":"youtube#video","id":"D-lhorsDlUQ","fetchedAt":"2024-01-01T00:00:00.%06dZ"}`+"\n", us)
	}
	recs, st, err := readAll(t, b.Bytes(), "u", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, r := range recs {
		got = append(got, r.Video.FetchedAt.Nanosecond()/1000)
	}
	if fmt.Sprint(got) != "[1 2 3 0 4 5 6 7]" {
		t.Errorf("times %v", got)
	}
	if st.TimeShifted != 4 {
		t.Errorf("TimeShifted %d, want 4", st.TimeShifted)
	}
}
