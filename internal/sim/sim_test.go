package sim

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestSimulatedClock(t *testing.T) {
	clk := newFakeClock()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, err := New(Config{Start: start, Speed: 3600, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Now().Equal(start) {
		t.Fatalf("now %v, want %v", s.Now(), start)
	}
	clk.Add(2 * time.Second) // 2 real seconds = 2 simulated hours
	if want := start.Add(2 * time.Hour); !s.Now().Equal(want) {
		t.Fatalf("now %v, want %v", s.Now(), want)
	}
	s.Advance(24 * time.Hour)
	if want := start.Add(26 * time.Hour); !s.Now().Equal(want) {
		t.Fatalf("after Advance: %v, want %v", s.Now(), want)
	}
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Now(); n.Before(DefaultStart) || n.After(DefaultStart.Add(time.Minute)) {
		t.Fatalf("default start: %v", n)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{Channels: -1}, {VideosPerChannel: -5}, {Speed: -1}, {Fault5xx: 2}, {FaultTruncate: -0.1}, {Latency: -time.Second},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestMetricsAndConcurrency(t *testing.T) {
	e := newEnv(t, Config{Seed: 5, QuotaPerDay: -1})
	reg := prometheus.NewRegistry()
	if err := e.s.Registerer(reg); err != nil {
		t.Fatal(err)
	}
	ch := e.s.ChannelIDs(8)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				e.get(t, "/youtube/v3/playlistItems?key=secret-key&part=snippet&playlistId=UU"+ch[i][2:])
				e.get(t, "/feeds/videos.xml?channel_id="+ch[i])
			}
		}(i)
	}
	wg.Wait()
	gather := func() (calls, units float64) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if strings.Contains(l.GetValue(), "secret") {
						t.Fatalf("API key leaked into metric %s", mf.GetName())
					}
				}
				switch mf.GetName() {
				case "tubelake_sim_calls_total":
					calls += m.GetCounter().GetValue()
				case "tubelake_sim_quota_units_total":
					units += m.GetCounter().GetValue()
				}
			}
		}
		return calls, units
	}
	// A call is counted when its handler returns, which can be just after
	// the client read the whole response: wait for the last ones.
	calls, units := gather()
	for deadline := time.Now().Add(5 * time.Second); calls < 80 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		calls, units = gather()
	}
	if calls != 80 || units != 40 {
		t.Fatalf("metrics: calls %v units %v", calls, units)
	}
	if u := e.s.Usage(); u.Calls["playlistItems"] != 40 || u.Calls["rss"] != 40 || u.Units["secret-key"] != 40 {
		t.Fatalf("usage %+v", u)
	}
}
