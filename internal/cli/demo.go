package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/collect"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/quota"
	"github.com/tubelake/tubelake/internal/sim"
)

func demoCmd(g *globals) *cobra.Command {
	var (
		addr, data string
		duration   time.Duration
		channels   int
		maxVideos  int
		refresh    time.Duration
		f          simFlags
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the YouTube emulator and the whole pipeline in one process, collect, and serve search",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			log := g.logger()
			if data == "" {
				data = filepath.Join(os.TempDir(), "tubelake-demo")
			}
			cfg, err := f.config()
			if err != nil {
				return err
			}
			if cfg.Channels < channels {
				cfg.Channels = channels
			}
			cfg.Logger = log.With("component", "sim")
			simSrv, err := sim.New(cfg)
			if err != nil {
				return err
			}
			simLn, simURL, err := listen("127.0.0.1:0")
			if err != nil {
				return err
			}
			go func() { _ = serveHTTP(ctx, simLn, simSrv.Handler(), log) }()

			reg := newRegistry()
			nf := nodeFlags{data: data}
			n, err := nf.open(ctx, log, reg)
			if err != nil {
				return err
			}
			defer n.Close()
			runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
			defer stopRun()
			runErr := make(chan error, 1)
			go func() { runErr <- n.Run(runCtx) }()

			var col atomic.Pointer[collect.Collector]
			h, closeAPI, err := apiHandler(ctx, n, reg, log, serveOptions{requestTimeout: 10 * time.Second, searchCache: time.Second, quota: func() []quota.Usage {
				if c := col.Load(); c != nil {
					return c.Ledger().Snapshot()
				}
				return nil
			}})
			if err != nil {
				return err
			}
			defer closeAPI()
			ln, apiURL, err := listen(addr)
			if err != nil {
				return err
			}
			httpErr := make(chan error, 1)
			go func() { httpErr <- serveHTTP(ctx, ln, h, log) }()

			fmt.Fprintf(g.stdout, "tubelake demo\n  emulator: %s (seed %d)\n  data:     %s\n  API:      %s/v1/videos/search?q=...\n  UI:       %s/\n  metrics:  %s/metrics\n",
				simURL, cfg.Seed, n.DataDir(), apiURL, apiURL, apiURL)
			ids := simSrv.ChannelIDs(channels)
			start := time.Now()
			c, err := collect.New(collect.Config{Endpoint: simURL, APIKeys: []string{"demo-key"}, Workers: 32, MaxVideosPerChannel: maxVideos,
				Logger: log.With("component", "collect"), Progress: progressLine(g, start), Registerer: reg}, n)
			if err != nil {
				return err
			}
			col.Store(c)
			st, err := c.Collect(ctx, ids)
			fmt.Fprintln(g.stderr)
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("collect: %w", err)
			}
			fmt.Fprintf(g.stdout, "collected %d channels, %d videos in %s (%d API calls, %d quota units)\n", st.Channels, st.Videos, st.Elapsed.Round(time.Millisecond), st.Calls, st.QuotaUnits)
			if ctx.Err() == nil {
				wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				_ = n.WaitIdle(wctx)
				cancel()
				for _, q := range []string{"초등영어", "영어", "먹방"} {
					res, err := n.Index.Search(ctx, index.Query{Q: q, Sort: index.SortViews, Limit: 3})
					if err != nil {
						return err
					}
					fmt.Fprintf(g.stdout, "\nsearch %q: %d results (%s) in %d µs   %s/v1/videos/search?q=%s&sort=views\n", q, res.Total, res.TotalRelation, res.TookMicros, apiURL, url.QueryEscape(q))
					for _, h := range res.Items {
						fmt.Fprintf(g.stdout, "  %12d views  %s  [%s]\n", h.ViewCount, h.Title, h.ChannelTitle)
					}
				}
				fmt.Fprintf(g.stdout, "\nopen %s/ to search; Ctrl-C to stop.\n", apiURL)
			}
			// Keep refreshing so statistics visibly change in the emulator's sped-up clock.
			if refresh > 0 {
				t := time.NewTicker(refresh)
				defer t.Stop()
			loop:
				for {
					select {
					case <-ctx.Done():
						break loop
					case <-t.C:
						st, err := c.Collect(ctx, ids)
						fmt.Fprintln(g.stderr)
						if err != nil && ctx.Err() == nil {
							log.Warn("refresh failed", "err", err)
						} else if ctx.Err() == nil {
							log.Info("refreshed", "videos", st.Videos, "calls", st.Calls)
						}
					}
				}
			}
			<-ctx.Done()
			stopRun()
			if err := <-runErr; err != nil {
				return err
			}
			if err := <-httpErr; err != nil && err != http.ErrServerClosed {
				return err
			}
			fmt.Fprintln(g.stdout, "demo stopped cleanly")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "API and UI listen address")
	cmd.Flags().StringVar(&data, "data", "", "data directory (default $TMPDIR/tubelake-demo)")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop cleanly after this long (0 = until Ctrl-C)")
	cmd.Flags().IntVar(&channels, "collect-channels", 60, "channels to collect from the emulator")
	cmd.Flags().IntVar(&maxVideos, "max-videos-per-channel", 100, "newest uploads per channel to collect")
	cmd.Flags().DurationVar(&refresh, "refresh", 30*time.Second, "re-collect every this long (0 = once)")
	f.register(cmd, "sim-")
	cmd.Flags().Lookup("sim-speed").DefValue = "3600"
	_ = cmd.Flags().Set("sim-speed", "3600")
	return cmd
}
