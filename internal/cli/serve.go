package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/api"
	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/pipeline"
	"github.com/tubelake/tubelake/internal/quota"
)

type nodeFlags struct {
	data         string
	streamURL    string
	streamListen string
}

func (f *nodeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.data, "data", "./tubelake-data", "data directory (stream/, lake/, index/)")
	cmd.Flags().StringVar(&f.streamURL, "stream", "", `stream engine: "" for embedded JetStream, nats://host:port[,...][?replicas=N] for an external NATS cluster, or kafka://broker:port[,...] for Kafka`)
	cmd.Flags().StringVar(&f.streamListen, "stream-listen", "", "expose the embedded JetStream on host:port so `tubelake collect` in other processes can publish to it")
}

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func (f *nodeFlags) open(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) (*pipeline.Node, error) {
	return pipeline.Open(ctx, pipeline.Config{DataDir: f.data, StreamURL: f.streamURL, StreamListen: f.streamListen, Logger: log, Registerer: reg})
}

// listen binds addr and returns the listener and the URL it serves.
func listen(addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, "http://" + ln.Addr().String(), nil
}

// serveHTTP serves h on ln until ctx is done, then shuts down gracefully.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// serveOptions are the API settings of `serve` (and `demo`).
type serveOptions struct {
	requireKey     bool
	cors           []string
	anonRate       float64
	anonBurst      int
	requestTimeout time.Duration
	quotaFile      string
	searchCache    time.Duration
	// quota, when set, reports the in-process collector's ledger.
	quota func() []quota.Usage
}

func (o *serveOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&o.requireKey, "require-key", false, "require an API key on every /v1 request even before any key exists (keys are required anyway once `tubelake apikey create` made one)")
	f.StringSliceVar(&o.cors, "cors-origins", nil, `origins allowed to call the API from browsers (comma-separated, "*" for any); default none`)
	f.Float64Var(&o.anonRate, "anon-rate", 50, "requests/s allowed per client IP without an API key (0 = unlimited)")
	f.IntVar(&o.anonBurst, "anon-burst", 100, "burst allowed per client IP without an API key")
	f.DurationVar(&o.requestTimeout, "request-timeout", 10*time.Second, "per-request time limit")
	f.DurationVar(&o.searchCache, "search-cache", time.Second, "cache search responses this long (results at most this stale; 0 = off)")
	f.StringVar(&o.quotaFile, "quota-file", "", "collector quota ledger to report in /v1/status (default <data>/quota.json when present)")
}

// apiHandler builds the API over a node: its index, a DuckDB view of its
// lake and its client API keys. close releases the lake connection.
func apiHandler(ctx context.Context, n *pipeline.Node, reg *prometheus.Registry, log *slog.Logger, o serveOptions) (h http.Handler, closeFn func() error, err error) {
	keys, err := api.OpenKeyStore(n.DataDir())
	if err != nil {
		return nil, nil, err
	}
	db, err := lakesql.Open(ctx, n.LakeDir())
	if err != nil {
		return nil, nil, fmt.Errorf("serve: lake: %w", err)
	}
	quotaFn := o.quota
	if quotaFn == nil {
		path := o.quotaFile
		if path == "" {
			path = filepath.Join(n.DataDir(), "quota.json")
		}
		quotaFn = func() []quota.Usage {
			l := quota.New(quota.DefaultPerDay, nil)
			if err := l.LoadFile(path); err != nil {
				log.Warn("quota ledger unreadable", "path", path, "err", err)
				return nil
			}
			return l.Snapshot()
		}
	}
	h, err = api.New(api.Config{
		Index:          n.Index,
		Lake:           db,
		Status:         api.StatusFunc(func(ctx context.Context) (any, error) { return n.Status(ctx) }),
		Quota:          quotaFn,
		Gatherer:       reg,
		Registerer:     reg,
		Logger:         log.With("component", "api"),
		RequestTimeout: o.requestTimeout,
		Keys:           keys,
		RequireKey:     o.requireKey,
		AnonRate:       o.anonRate,
		AnonBurst:      o.anonBurst,
		CORSOrigins:    o.cors,
		SearchCacheTTL: o.searchCache,
	})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if k := keys.Len(); k > 0 || o.requireKey {
		log.Info("API keys required", "keys", k)
	}
	return h, db.Close, nil
}

func serveCmd(g *globals) *cobra.Command {
	var nf nodeFlags
	var addr string
	var so serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the search API and UI over a data directory, while the sinks keep consuming the stream",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.logger()
			reg := newRegistry()
			n, err := nf.open(ctx, log, reg)
			if err != nil {
				return err
			}
			defer n.Close()
			h, closeAPI, err := apiHandler(ctx, n, reg, log, so)
			if err != nil {
				return err
			}
			defer closeAPI()
			ln, url, err := listen(addr)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			runErr := make(chan error, 1)
			go func() { runErr <- n.Run(ctx) }()
			fmt.Fprintf(g.stdout, "tubelake serving %s over %s\n  search: %s/v1/videos/search?q=%%EC%%98%%81%%EC%%96%%B4&sort=views\n  UI:     %s/\n  OpenAPI: %s/v1/openapi.json\n  metrics: %s/metrics\n", url, n.DataDir(), url, url, url, url)
			if u := n.Stream.ClientURL(); u != "" {
				fmt.Fprintf(g.stdout, "  stream: %s\n", u)
			}
			httpErr := serveHTTP(ctx, ln, h, log)
			cancel()
			if err := <-runErr; err != nil {
				return err
			}
			return httpErr
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "HTTP listen address")
	so.register(cmd)
	return cmd
}
