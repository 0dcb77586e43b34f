package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchAPISmall(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("bench api needs the real titles in %s: %v", data, err)
	}
	var out, errb bytes.Buffer
	dir := t.TempDir()
	cmd := benchAPICmd(&globals{stdout: &out, stderr: &errb, logLevel: "error"})
	cmd.SetArgs([]string{"--docs", "3000", "--clients", "1,4", "--duration", "300ms", "--warmup", "100ms", "--ingest-rate", "2000",
		"--queries", "100", "--channel-pool", "50", "--data-dir", data, "--out", dir})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "| search | 4 |") || !strings.Contains(out.String(), "| channel page | 1 |") {
		t.Fatalf("report:\n%s", out.String())
	}
	var rep apiBenchReport
	b, err := os.ReadFile(filepath.Join(dir, "api.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, l := range rep.Loads {
		if l.Requests == 0 || l.Errors != 0 || l.MeanResults == 0 {
			t.Fatalf("load %+v", l)
		}
	}
}
