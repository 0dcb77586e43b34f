package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/collect"
	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/schedule"
	"github.com/tubelake/tubelake/internal/stream"
	"github.com/tubelake/tubelake/internal/yt"
)

// readChannelIDs reads channel ids from a file: one per line, or a CSV whose
// first column is the id (a header line and blank lines are ignored).
func readChannelIDs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseChannelIDs(f, path)
}

func parseChannelIDs(r io.Reader, name string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if i := strings.IndexByte(s, ','); i >= 0 {
			s = strings.Trim(strings.TrimSpace(s[:i]), `"`)
		}
		if s == "" || strings.HasPrefix(s, "#") || (line == 1 && yt.ValidateChannelID(s) != nil && !strings.HasPrefix(s, "UC")) {
			continue
		}
		if err := yt.ValidateChannelID(s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if !seen[s] {
			seen[s] = true
			ids = append(ids, s)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ids, nil
}

type collectFlags struct {
	endpoint string
	keys     []string
	keysFile string
	workers  int
	maxVid   int

	// --loop
	loop          bool
	shard         string
	tick          time.Duration
	feedInterval  time.Duration
	quotaPerDay   int64
	metricsListen string
	search        []string
}

func (f *collectFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.endpoint, "endpoint", "https://youtube.googleapis.com", "YouTube API base URL (the emulator's URL to collect from `tubelake sim`)")
	fl.StringSliceVar(&f.keys, "key", nil, "YouTube Data API key (repeatable); prefer --keys-file or $TUBELAKE_YOUTUBE_KEYS so keys stay out of shell history")
	fl.StringVar(&f.keysFile, "keys-file", "", "file with one API key per line")
	fl.IntVar(&f.workers, "workers", 32, "concurrent API calls")
	fl.IntVar(&f.maxVid, "max-videos-per-channel", 0, "newest uploads to collect per channel (0 = all)")
	fl.BoolVar(&f.loop, "loop", false, "run until stopped: seed the channels, then scheduler-driven refresh cycles (state in DATA/collect/)")
	fl.StringVar(&f.shard, "shard", "0/1", "with --loop: own only channels whose id hash mod n is i (i/n); give each shard its own --data")
	fl.DurationVar(&f.tick, "tick", 10*time.Second, "with --loop: pause between cycles when nothing is due")
	fl.DurationVar(&f.feedInterval, "feed-interval", time.Hour, "with --loop: RSS poll interval per channel (zero quota)")
	fl.Int64Var(&f.quotaPerDay, "quota-per-day", quota.DefaultPerDay, "daily quota units of each API key")
	fl.StringSliceVar(&f.search, "search", nil, "with --loop: search.list query (type=channel) run daily within the plan's search budget; channels found are collected (repeatable)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "with --loop: serve Prometheus /metrics on host:port")
}

func (f *collectFlags) apiKeys() ([]string, error) {
	keys := append([]string(nil), f.keys...)
	if env := os.Getenv("TUBELAKE_YOUTUBE_KEYS"); env != "" {
		keys = append(keys, strings.Split(env, ",")...)
	}
	if f.keysFile != "" {
		b, err := os.ReadFile(f.keysFile)
		if err != nil {
			return nil, fmt.Errorf("--keys-file: %w", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				keys = append(keys, l)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no API key: pass --key, --keys-file or set TUBELAKE_YOUTUBE_KEYS")
	}
	return keys, nil
}

func progressLine(g *globals, start time.Time) func(collect.Stats) {
	return func(s collect.Stats) {
		// Rates over this crawl (Elapsed), not since the command started:
		// the demo and --loop run several crawls with one progress line.
		el := s.Elapsed.Seconds()
		if el <= 0 {
			el = time.Since(start).Seconds()
		}
		if el <= 0 {
			el = 1
		}
		fmt.Fprintf(g.stderr, "\rcollect: %d channels, %d videos (%.0f/s), %d calls (%.1f/s), %d quota units, %d tombstones, %d retries   ",
			s.Channels, s.Videos, float64(s.Videos)/el, s.Calls, float64(s.Calls)/el, s.QuotaUnits, s.Tombstones, s.Retries)
	}
}

func collectCmd(g *globals) *cobra.Command {
	var nf nodeFlags
	var cf collectFlags
	var channels []string
	var channelsFile string
	var sinks bool
	cmd := &cobra.Command{
		Use:   "collect",
		Short: "Collect channels and their videos from the YouTube API (or the emulator) into the stream",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ids := append([]string(nil), channels...)
			for _, id := range ids {
				if err := yt.ValidateChannelID(id); err != nil {
					return fmt.Errorf("--channel: %w", err)
				}
			}
			if channelsFile != "" {
				more, err := readChannelIDs(channelsFile)
				if err != nil {
					return err
				}
				ids = append(ids, more...)
			}
			if len(ids) == 0 && !cf.loop {
				return fmt.Errorf("no channels: pass --channel UC... or --channels-file FILE")
			}
			keys, err := cf.apiKeys()
			if err != nil {
				return err
			}
			log := g.logger()
			var pub collect.Publisher
			var wait func() error
			if !sinks {
				defer tuneCollectorGC()()
			}
			if sinks {
				n, err := nf.open(ctx, log, nil)
				if err != nil {
					return err
				}
				defer n.Close()
				sinks := startSinks(ctx, n)
				pub = n
				wait = func() error { return sinks.drain(ctx) }
			} else {
				s, err := stream.Open(ctx, stream.Config{URL: nf.streamURL, Dir: nf.data + "/stream", Logger: log})
				if err != nil {
					return err
				}
				defer s.Close()
				pub = s
				wait = func() error { return nil }
			}
			if cf.loop {
				lerr := runLoop(ctx, g, &nf, &cf, keys, ids, pub)
				fmt.Fprintln(g.stderr)
				if err := wait(); err != nil {
					return errors.Join(lerr, err)
				}
				return lerr
			}
			start := time.Now()
			c, err := collect.New(collect.Config{Endpoint: cf.endpoint, APIKeys: keys, Workers: cf.workers, MaxVideosPerChannel: cf.maxVid,
				Logger: log.With("component", "collect"), Progress: progressLine(g, start)}, pub)
			if err != nil {
				return err
			}
			st, cerr := c.Collect(ctx, ids)
			fmt.Fprintln(g.stderr)
			fmt.Fprintf(g.stdout, "collected %d channels, %d videos, %d tombstones in %s: %d calls, %d quota units, errors %v\n",
				st.Channels, st.Videos, st.Tombstones, st.Elapsed.Round(time.Millisecond), st.Calls, st.QuotaUnits, st.Errors)
			if err := wait(); err != nil {
				return err
			}
			return cerr
		},
	}
	nf.register(cmd)
	cf.register(cmd)
	cmd.Flags().StringSliceVar(&channels, "channel", nil, "channel id to collect (repeatable)")
	cmd.Flags().StringVar(&channelsFile, "channels-file", "", "file of channel ids (one per line, or CSV with the id first)")
	cmd.Flags().BoolVar(&sinks, "sinks", true, "also run the lake and index sinks in this process (false: only publish to the stream, e.g. --stream nats://...)")
	return cmd
}

// The garbage collector settings of a process that only collects (no sinks
// in-process): the collector's heap is mostly short-lived response bodies
// and decoded resources over a live heap of about 50 MB, so a higher GOGC
// cuts GC work (about 10 % of its CPU at the default 100; 5.5 % at 300 and
// 3 % at 500 on the scheduled path, measured by `tubelake bench collect`),
// and the soft memory limit keeps RSS under 512 MB whatever GOGC lets the
// heap grow to. GOGC / GOMEMLIMIT in the environment win.
const (
	collectorGCPercent   = 500
	collectorMemoryLimit = 384 << 20
)

// tuneCollectorGC applies the collector's GC settings and returns a
// function restoring the previous ones.
func tuneCollectorGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(collectorGCPercent)
	lim := debug.SetMemoryLimit(collectorMemoryLimit)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(lim)
	}
}

// collectDir is where the collector keeps its schedule and quota plan.
func collectDir(data string) string { return filepath.Join(data, "collect") }

func quotaStatePath(data string) string { return filepath.Join(collectDir(data), "quota.json") }

// runLoop is `tubelake collect --loop`: it returns on SIGINT/SIGTERM (nil)
// or a fatal error.
func runLoop(ctx context.Context, g *globals, nf *nodeFlags, cf *collectFlags, keys, seeds []string, pub collect.Publisher) error {
	sh, err := schedule.ParseShard(cf.shard)
	if err != nil {
		return fmt.Errorf("--shard: %w", err)
	}
	if cf.tick <= 0 || cf.feedInterval <= 0 {
		return fmt.Errorf("--tick and --feed-interval must be positive")
	}
	if err := os.MkdirAll(collectDir(nf.data), 0o755); err != nil {
		return err
	}
	store, err := schedule.Open(filepath.Join(collectDir(nf.data), "schedule.db"), schedule.Config{Shard: sh})
	if err != nil {
		return err
	}
	defer store.Close()
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = quota.KeyID(k)
	}
	ledger := quota.New(cf.quotaPerDay, nil)
	planner := quota.NewPlanner(ledger, ids, quota.PlanConfig{})
	statePath := quotaStatePath(nf.data)
	if st, ok, err := quota.LoadState(statePath); err != nil {
		return err
	} else if ok {
		planner.Restore(st)
	}
	reg := newRegistry()
	log := g.logger().With("component", "collect")
	c, err := collect.New(collect.Config{Endpoint: cf.endpoint, APIKeys: keys, Workers: cf.workers, Planner: planner,
		Logger: log, Registerer: reg}, pub)
	if err != nil {
		return err
	}
	if cf.metricsListen != "" {
		ln, url, err := listen(cf.metricsListen)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
		go serveHTTP(ctx, ln, mux, log)
		fmt.Fprintf(g.stderr, "metrics on %s/metrics\n", url)
	}
	added, err := c.Seed(store, seeds)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "collect --loop: shard %s, %d new seed channel(s), keys %s\n", sh, added, strings.Join(ids, ","))
	st, lerr := c.Loop(ctx, collect.LoopConfig{Store: store, Tick: cf.tick, FeedInterval: cf.feedInterval, SearchQueries: cf.search,
		StateSave: func() error { return planner.SaveFile(statePath) }, Progress: loopProgress(g)})
	if err := planner.SaveFile(statePath); err != nil {
		lerr = errors.Join(lerr, err)
	}
	fmt.Fprintln(g.stderr)
	fmt.Fprintf(g.stdout, "collect --loop: %d cycles, %d calls, %d units, %d videos, %d channels, %d events, %d tombstones, %d discovered in %s\n",
		st.Cycles, st.Calls, st.Units, st.Videos, st.Channels, st.Events, st.Tombstones, st.Discovered, st.Elapsed.Round(time.Second))
	if ctx.Err() != nil && errors.Is(lerr, ctx.Err()) {
		return nil // stopped (SIGINT/SIGTERM): state saved, leases released
	}
	return lerr
}

// loopProgress prints one live line: rates over the last interval, quota
// left and the lag of each tier.
func loopProgress(g *globals) func(collect.LoopStats) {
	var prev collect.LoopStats
	var prevAt time.Time
	return func(s collect.LoopStats) {
		now := time.Now()
		dt := now.Sub(prevAt).Seconds()
		if prevAt.IsZero() || dt <= 0 {
			dt = max(s.Elapsed.Seconds(), 1)
		}
		var lags []string
		for _, t := range s.Tiers {
			lags = append(lags, fmt.Sprintf("%s %d/%s", t.Tier, t.Items, t.Lag.Round(time.Second)))
		}
		fmt.Fprintf(g.stderr, "\rcollect: %.1f calls/s, %.0f records/s, %d videos, %d events, quota left %d, lag [%s]   ",
			float64(s.Calls-prev.Calls)/dt, float64(s.Records-prev.Records)/dt, s.Videos, s.Events, s.QuotaLeft, strings.Join(lags, ", "))
		prev, prevAt = s, now
	}
}
