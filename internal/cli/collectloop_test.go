package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/sim"
)

// `collect --loop` seeds, runs cycles until stopped, saves the schedule and
// the quota plan; `quota` then reports it; a restart resumes (nothing new
// is due, so no call is sent).
func TestCollectLoopAndQuota(t *testing.T) {
	srv, err := sim.New(sim.Config{Seed: 2, Channels: 100, VideosPerChannel: 8})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	data := t.TempDir()
	chans := srv.ChannelIDs(5)
	run := func(d time.Duration) string {
		var out, errb bytes.Buffer
		g := &globals{stdout: &out, stderr: &errb}
		cmd := collectCmd(g)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetArgs([]string{"--loop", "--sinks=false", "--data", data, "--endpoint", hs.URL, "--key", "secret-key-1",
			"--channel", strings.Join(chans, ","), "--tick", "100ms", "--workers", "4"})
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("collect --loop: %v\n%s", err, errb.String())
		}
		if strings.Contains(out.String()+errb.String(), "secret-key-1") {
			t.Fatal("key leaked to the output")
		}
		return out.String()
	}
	first := run(4 * time.Second)
	if !strings.Contains(first, "collect --loop:") {
		t.Fatalf("no summary: %q", first)
	}
	if _, err := os.Stat(filepath.Join(data, "collect", "schedule.db")); err != nil {
		t.Fatal(err)
	}
	calls := srv.Usage().Calls["videos"]
	if calls == 0 {
		t.Fatal("no videos.list call")
	}
	run(2 * time.Second)
	if again := srv.Usage().Calls["videos"]; again != calls {
		t.Fatalf("restart re-fetched: videos.list calls %d -> %d", calls, again)
	}
	var out, errb bytes.Buffer
	q := quotaCmd(&globals{stdout: &out, stderr: &errb})
	q.SetArgs([]string{"--data", data})
	if err := q.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "discovery") || strings.Contains(out.String(), "secret-key-1") {
		t.Fatalf("quota report:\n%s", out.String())
	}
	t.Logf("%s\n%s", first, out.String())
}
