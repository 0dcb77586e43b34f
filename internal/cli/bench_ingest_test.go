package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

// TestBenchIngestCommand runs `bench ingest` on a small corpus through all
// three engines. TUBELAKE_BENCH_INGEST_ARGS replaces the arguments (used to
// run the full benchmark from a test binary until the command is
// registered: go test -c && ./cli.test -test.run TestBenchIngestCommand).
func TestBenchIngestCommand(t *testing.T) {
	args := []string{"--records", "30000", "--days", "3", "--fetch-batch", "5000"}
	if a := os.Getenv("TUBELAKE_BENCH_INGEST_ARGS"); a != "" {
		args = strings.Fields(a)
	}
	var out, errb bytes.Buffer
	g := &globals{stdout: &out, stderr: &errb, logLevel: "warn"}
	cmd := benchIngestCmd(g)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	t.Log("\n" + out.String())
	for _, e := range []string{"| embedded |", "| nats |", "| kafka |"} {
		if os.Getenv("TUBELAKE_BENCH_INGEST_ARGS") == "" && !strings.Contains(out.String(), e) {
			t.Errorf("report lacks %s:\n%s", e, out.String())
		}
	}
	if os.Getenv("TUBELAKE_BENCH_INGEST_ARGS") == "" && !strings.Contains(out.String(), "| 20000 |") {
		t.Errorf("count query over 2 of 3 days should see 20000 rows:\n%s", out.String())
	}
}
