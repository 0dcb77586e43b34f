package cli

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/sim"
)

type simFlags struct {
	seed          int64
	channels      int
	perChannel    int
	quota         int64
	keys          []string
	qps           float64
	latency       time.Duration
	jitter        time.Duration
	f5xx, fto, ft float64
	speed         float64
	start         string
}

func (f *simFlags) register(cmd *cobra.Command, prefix string) {
	fl := cmd.Flags()
	fl.Int64Var(&f.seed, prefix+"seed", 1, "universe seed: the same seed gives the same channels, videos and statistics")
	fl.IntVar(&f.channels, prefix+"channels", 2000, "channels in the universe")
	fl.IntVar(&f.perChannel, prefix+"videos-per-channel", 100, "mean videos per channel (skewed)")
	fl.Int64Var(&f.quota, prefix+"quota", 10000, "daily quota units per API key (reset at midnight America/Los_Angeles)")
	fl.StringSliceVar(&f.keys, prefix+"keys", nil, "accepted API keys (default: any non-empty key not starting with \"invalid\")")
	fl.Float64Var(&f.qps, prefix+"rate-limit", 0, "per-key requests/s before rateLimitExceeded (0 = none)")
	fl.DurationVar(&f.latency, prefix+"latency", 0, "added latency per call")
	fl.DurationVar(&f.jitter, prefix+"latency-jitter", 0, "random extra latency per call, up to this")
	fl.Float64Var(&f.f5xx, prefix+"fault-5xx", 0, "probability of a 503 backendError")
	fl.Float64Var(&f.fto, prefix+"fault-timeout", 0, "probability of a hung call")
	fl.Float64Var(&f.ft, prefix+"fault-truncate", 0, "probability of a truncated body")
	fl.Float64Var(&f.speed, prefix+"speed", 1, "simulated seconds per real second")
	fl.StringVar(&f.start, prefix+"start", "", "simulated clock start, RFC 3339 (default 2026-11-01T00:00:00Z)")
}

func (f *simFlags) config() (sim.Config, error) {
	cfg := sim.Config{Seed: f.seed, Channels: f.channels, VideosPerChannel: f.perChannel, QuotaPerDay: f.quota, Keys: f.keys,
		RateLimitQPS: f.qps, Latency: f.latency, LatencyJitter: f.jitter, Fault5xx: f.f5xx, FaultTimeout: f.fto, FaultTruncate: f.ft, Speed: f.speed}
	if f.start != "" {
		t, err := time.Parse(time.RFC3339, f.start)
		if err != nil {
			return cfg, fmt.Errorf("--start: %w", err)
		}
		cfg.Start = t
	}
	for _, p := range []float64{f.f5xx, f.fto, f.ft} {
		if p < 0 || p > 1 {
			return cfg, fmt.Errorf("fault probabilities must be within 0..1, got %v", p)
		}
	}
	return cfg, nil
}

func simCmd(g *globals) *cobra.Command {
	var f simFlags
	var addr string
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the YouTube Data API v3 + RSS emulator",
		Long: `Run the built-in YouTube emulator: /youtube/v3/{videos,channels,playlistItems,search,videoCategories}
and /feeds/videos.xml with real shapes, quota costs, error bodies, paging and ETags, over a universe
generated lazily from --seed. Point the official client at it with option.WithEndpoint(URL+"/youtube/v3/").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			log := g.logger()
			cfg.Logger = log.With("component", "sim")
			srv, err := sim.New(cfg)
			if err != nil {
				return err
			}
			ln, url, err := listen(addr)
			if err != nil {
				return err
			}
			ids := srv.ChannelIDs(3)
			fmt.Fprintf(g.stdout, "YouTube emulator on %s (seed %d, %d channels)\n  try: curl '%s/youtube/v3/channels?part=snippet,statistics&id=%s&key=demo'\n       curl '%s/feeds/videos.xml?channel_id=%s'\n",
				url, cfg.Seed, cfg.Channels, url, ids[0], url, ids[0])
			mux := http.NewServeMux()
			mux.Handle("/", srv.Handler())
			return serveHTTP(cmd.Context(), ln, mux, log)
		},
	}
	f.register(cmd, "")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8081", "listen address")
	return cmd
}
