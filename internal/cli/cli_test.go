package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

const goodLine = `{"kind":"youtube#video","id":"%s","snippet":{"publishedAt":"2025-11-01T09:00:00Z","channelId":"UCcQTRi69dsVYHN3exePtZ1A","title":"%s","channelTitle":"KBS News"},"statistics":{"viewCount":"%s"}}`

func jsonl(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func TestImportBadLinesSkipOrFail(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "videos.jsonl")
	content := jsonl(
		sprintf(goodLine, "aaaaaaaaaa1", "초등영어 파닉스", "100"),
		`{"kind":"youtube#video","id":"bad id!","snippet":{"title":"x"}}`,
		sprintf(goodLine, "aaaaaaaaaa2", "영어 듣기", "200"),
		`{not json`,
		sprintf(goodLine, "aaaaaaaaaa3", "먹방", "300"),
	)
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")

	// fail: stops at line 2 with its number.
	_, _, err := run(t, "import", "--data", filepath.Join(dir, "faildata"), "--on-error=fail", file)
	if err == nil || !strings.Contains(err.Error(), "videos.jsonl:2") {
		t.Fatalf("--on-error=fail: got %v, want an error naming videos.jsonl:2", err)
	}

	// skip: reports lines 2 and 4, keeps the three valid ones.
	out, errOut, err := run(t, "import", "--data", data, "--on-error=skip", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"videos.jsonl:2", "videos.jsonl:4"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("skip report lacks %s:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "3 records published, 2 lines skipped") {
		t.Fatalf("import output: %s", out)
	}
	count := func() string {
		out, _, err := run(t, "sql", "--data", data, "--format", "csv", "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM video_history")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	if got := count(); got != "n,ids\n3,3" {
		t.Fatalf("lake after import: %q", got)
	}
	// Importing the same file again changes no count.
	if _, _, err := run(t, "import", "--data", data, "--on-error=skip", file); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != "n,ids\n3,3" {
		t.Fatalf("lake after a second import: %q", got)
	}
	out, _, err = run(t, "sql", "--data", data, "--format", "json", "SELECT id, title FROM videos ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"title":"초등영어 파닉스"`) && !strings.Contains(out, `"title": "초등영어 파닉스"`) {
		t.Fatalf("json output: %s", out)
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"import", "--on-error=ignore", "x.jsonl"}, "--on-error"},
		{[]string{"import", "/does/not/exist.jsonl"}, "no such file"},
		{[]string{"sql", "--format", "xml", "SELECT 1"}, "--format"},
		{[]string{"collect", "--channel", "UCnope"}, "invalid channel id"},
		{[]string{"collect", "--channel", "UCcQTRi69dsVYHN3exePtZ1A"}, "no API key"},
		{[]string{"sim", "--fault-5xx", "2"}, "within 0..1"},
		{[]string{"lake", "ddl", "--engine", "oracle"}, "oracle"},
	}
	t.Setenv("TUBELAKE_YOUTUBE_KEYS", "")
	for _, tc := range tests {
		_, _, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestParseChannelIDs(t *testing.T) {
	in := "channel_id,channel_title\nUCcQTRi69dsVYHN3exePtZ1A,KBS News\n\n\"UCF4Wxdo3inmxP-Y59wXDsFw\",MBCNEWS\nUCcQTRi69dsVYHN3exePtZ1A,dup\n"
	ids, err := parseChannelIDs(strings.NewReader(in), "f")
	if err != nil || len(ids) != 2 {
		t.Fatalf("got %v %v", ids, err)
	}
	if _, err := parseChannelIDs(strings.NewReader("UCcQTRi69dsVYHN3exePtZ1A\nUCbad\n"), "f"); err == nil || !strings.Contains(err.Error(), "f:2") {
		t.Fatalf("bad id: %v", err)
	}
}
