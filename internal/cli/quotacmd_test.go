package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tubelake/tubelake/internal/quota"
)

func TestQuotaCmdTable(t *testing.T) {
	data := t.TempDir()
	if err := os.MkdirAll(collectDir(data), 0o755); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"AIzaSECRET-one", "AIzaSECRET-two"}
	ids := []string{quota.KeyID(secrets[0]), quota.KeyID(secrets[1])}
	l := quota.New(1000, nil)
	p := quota.NewPlanner(l, ids, quota.PlanConfig{})
	p.SetDemand([]string{"channel", "hour"}, map[string]int64{"channel": 10, "hour": 100})
	for range 7 {
		if !p.Reserve("hour", ids[0], 1) {
			t.Fatal("reserve refused")
		}
	}
	if !p.Reserve(quota.BucketSearch, ids[1], 100) {
		t.Fatal("search refused")
	}
	if err := p.SaveFile(quotaStatePath(data)); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := quotaCmd(&globals{stdout: &out, stderr: &errb})
	cmd.SetArgs([]string{"--data", data})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v: %s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{ids[0], ids[1], "BUCKET", "hour", "discovery", "search", "spare", "TOTAL"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "SECRET") {
		t.Fatalf("report leaks a key:\n%s", s)
	}
	// key 0: hour planned 100/2 = 50, spent 7, left 43.
	found := false
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[0] == ids[0] && f[1] == "hour" {
			found = f[2] == "50" && f[3] == "7" && f[4] == "43"
		}
	}
	if !found {
		t.Fatalf("hour row of %s wrong:\n%s", ids[0], s)
	}
	// No state: a clear error.
	cmd = quotaCmd(&globals{stdout: &out, stderr: &errb})
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs([]string{"--data", filepath.Join(data, "nope")})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "collect --loop") {
		t.Fatalf("missing state: %v", err)
	}
	_ = time.Now
}
