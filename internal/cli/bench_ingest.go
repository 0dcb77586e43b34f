package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/lakesql"
	"github.com/tubelake/tubelake/internal/pipeline"
	"github.com/tubelake/tubelake/internal/procstat"
)

// benchIngestCmd is `tubelake bench ingest` (registered under `bench`).
func benchIngestCmd(g *globals) *cobra.Command {
	var (
		cfg       pipeline.BenchConfig
		engines   string
		natsURL   string
		kafkaURL  string
		workDir   string
		keep      bool
		noCompact bool
		jsonOut   string
		memLimit  int64
		cpuProf   string
		allocProf string
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Measure end-to-end ingest (publish -> stream -> lake committed), compaction and lake SQL",
		Long: `Publishes --records deterministic video snapshot records (spread over --days daily
partitions) through each stream engine in --engines into a lake-only node, and
reports records/s from the first publish to the last lake commit, the process's
peak RSS (publisher, stream engine and lake writer share the process; in-process
brokers are included), files per partition before and after compaction, and the
timings of two SQL queries on the ingested rows through DuckDB.

Engines: embedded (in-process JetStream), nats (a JetStream server on a loopback
port reached over TCP, or --nats-url), kafka (franz-go's in-memory kfake broker
on a loopback port, or --kafka-url).`,
		Example: "  tubelake bench ingest --records 1000000 --engines embedded,nats,kafka",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if workDir == "" {
				d, err := os.MkdirTemp("", "tubelake-bench-ingest-")
				if err != nil {
					return err
				}
				workDir = d
			}
			if !keep {
				defer os.RemoveAll(workDir)
			}
			cfg.Compact = !noCompact
			if memLimit > 0 {
				// A soft heap limit: the GC works harder instead of letting the
				// heap double between collections (same as GOMEMLIMIT).
				prev := debug.SetMemoryLimit(memLimit << 20)
				defer debug.SetMemoryLimit(prev)
			}
			cfg.Logger = g.logger()
			var results []benchIngestReport
			for _, e := range strings.Split(engines, ",") {
				e = strings.TrimSpace(e)
				if e == "" {
					continue
				}
				c := cfg
				c.Engine = e
				c.Dir = filepath.Join(workDir, e)
				switch e {
				case "nats":
					c.StreamURL = natsURL
				case "kafka":
					c.StreamURL = kafkaURL
				}
				if _, err := os.Stat(c.Dir); err == nil {
					return fmt.Errorf("bench ingest: %s already exists; use an empty --work-dir", c.Dir)
				}
				t0 := time.Now()
				c.Progress = func(pub, committed int64) {
					fmt.Fprintf(g.stderr, "\r%s: published %d/%d, lake committed seq %d, %s   ", e, pub, c.Records, committed, time.Since(t0).Round(time.Second))
				}
				closeProfiles, err := benchProfiles(&c, e, cpuProf, allocProf)
				if err != nil {
					return err
				}
				res, err := pipeline.BenchIngest(ctx, c)
				if cerr := closeProfiles(); err == nil {
					err = cerr
				}
				fmt.Fprintln(g.stderr)
				if err != nil {
					return fmt.Errorf("bench ingest (%s): %w", e, err)
				}
				rep := benchIngestReport{BenchResult: res}
				if err := benchIngestSQL(cmd, &rep); err != nil {
					return fmt.Errorf("bench ingest (%s): sql: %w", e, err)
				}
				results = append(results, rep)
				writeBenchIngestRow(g.stderr, rep)
			}
			writeBenchIngest(g.stdout, cfg, results)
			if jsonOut != "" {
				b, _ := json.MarshalIndent(results, "", "  ")
				if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
					return err
				}
			}
			if keep {
				fmt.Fprintf(g.stderr, "work dir kept: %s\n", workDir)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Records, "records", 10_000_000, "video snapshot records to publish per engine")
	f.IntVar(&cfg.Days, "days", 10, "daily partitions the snapshots are spread over")
	f.IntVar(&cfg.PublishBatch, "publish-batch", 5000, "records per publish call")
	f.IntVar(&cfg.Publishers, "publishers", 2, "concurrent publishers")
	f.IntVar(&cfg.FetchBatch, "fetch-batch", 20000, "lake consumer batch size (records per lake commit)")
	f.StringVar(&engines, "engines", "embedded,nats,kafka", "comma-separated engines: embedded, nats, kafka")
	f.StringVar(&natsURL, "nats-url", "", "external NATS for the nats engine (default: a JetStream server started in-process on a loopback port)")
	f.StringVar(&kafkaURL, "kafka-url", "", "external Kafka (kafka://host:port) for the kafka engine (default: in-process kfake)")
	f.StringVar(&workDir, "work-dir", "", "directory for stream and lake data (default: a temp dir, removed afterwards)")
	f.BoolVar(&keep, "keep", false, "keep the work dir")
	f.BoolVar(&noCompact, "no-compact", false, "skip compaction")
	f.StringVar(&jsonOut, "json", "", "also write the results as JSON to this file")
	f.IntVar(&cfg.RecordsPerMessage, "records-per-message", 256, "records packed into one stream message (every engine; 1: one message per record)")
	f.DurationVar(&cfg.DedupeWindow, "dedupe-window", 0, "JetStream dedupe window for the benchmark's stream (0: the default, 2h)")
	f.StringVar(&cpuProf, "cpuprofile", "", "write a CPU profile of each engine's ingest phase to this file (engine name appended: FILE.embedded); samples are labelled stage=publish|sinks")
	f.StringVar(&allocProf, "allocprofile", "", "write an allocation profile at the end of each engine's ingest phase to this file (engine name appended)")
	f.Int64Var(&memLimit, "mem-limit-mb", 400, "soft Go heap limit in MB during the benchmark, like GOMEMLIMIT (0: none)")
	return cmd
}

// benchProfiles opens the profile files of one engine's run and returns
// the function that closes them.
func benchProfiles(c *pipeline.BenchConfig, engine, cpuProf, allocProf string) (func() error, error) {
	var files []*os.File
	closeAll := func() error {
		var errs []error
		for _, f := range files {
			errs = append(errs, f.Close())
		}
		return errors.Join(errs...)
	}
	for _, p := range []struct {
		path string
		w    *io.Writer
	}{{cpuProf, &c.CPUProfile}, {allocProf, &c.AllocProfile}} {
		if p.path == "" {
			continue
		}
		f, err := os.Create(p.path + "." + engine)
		if err != nil {
			_ = closeAll()
			return nil, fmt.Errorf("bench ingest: %w", err)
		}
		files = append(files, f)
		*p.w = f
	}
	return closeAll, nil
}

type benchIngestReport struct {
	pipeline.BenchResult
	CountSQL     string        `json:"count_sql"`
	CountRows    int64         `json:"count_rows"`
	CountElapsed time.Duration `json:"count_elapsed_ns"`
	TopSQL       string        `json:"top_sql"`
	TopElapsed   time.Duration `json:"top_elapsed_ns"`
	TopFirst     string        `json:"top_first"`
}

func benchIngestSQL(cmd *cobra.Command, rep *benchIngestReport) error {
	ctx := cmd.Context()
	db, err := lakesql.Open(ctx, rep.LakeDir)
	if err != nil {
		return err
	}
	defer db.Close()
	lastButOne := rep.LastDT
	if t, err := time.Parse(time.DateOnly, rep.LastDT); err == nil {
		lastButOne = t.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	rep.CountSQL = fmt.Sprintf("SELECT count(*) FROM video_stats WHERE dt BETWEEN '%s' AND '%s'", rep.FirstDT, lastButOne)
	t := time.Now()
	r, err := db.Query(ctx, rep.CountSQL)
	if err != nil {
		return err
	}
	rep.CountElapsed = time.Since(t)
	if len(r.Rows) == 1 {
		if n, ok := r.Rows[0][0].(int64); ok {
			rep.CountRows = n
		}
	}
	rep.TopSQL = `WITH v AS (SELECT channel_id, video_id, max(view_count) - min(view_count) AS growth FROM video_stats GROUP BY channel_id, video_id) ` +
		`SELECT channel_id, sum(growth) AS growth FROM v GROUP BY channel_id ORDER BY growth DESC LIMIT 10`
	t = time.Now()
	r, err = db.Query(ctx, rep.TopSQL)
	if err != nil {
		return err
	}
	rep.TopElapsed = time.Since(t)
	if len(r.Rows) > 0 {
		rep.TopFirst = fmt.Sprint(r.Rows[0]...)
	}
	return nil
}

func memLimitText() string {
	l := debug.SetMemoryLimit(-1)
	if l == math.MaxInt64 {
		return "none"
	}
	return fmt.Sprintf("%d MB", l>>20)
}

func writeBenchIngestRow(w io.Writer, r benchIngestReport) {
	fmt.Fprintf(w, "%s: %d records in %s = %.0f records/s, peak RSS %d MB, files %d -> %d over %d partitions\n",
		r.Engine, r.Records, r.Elapsed.Round(time.Millisecond), r.RecordsPerSec, r.PeakRSS>>20, r.FilesBefore, r.FilesAfter, r.Partitions)
}

func writeBenchIngest(w io.Writer, cfg pipeline.BenchConfig, rs []benchIngestReport) {
	window := "default (2h)"
	if cfg.DedupeWindow > 0 {
		window = cfg.DedupeWindow.String()
	}
	fmt.Fprintf(w, "# tubelake bench ingest\n\n%d video snapshot records per engine over %d daily partitions; fetch batch %d; %d records per JetStream message; JetStream dedupe window %s; Go heap limit %s; GOMAXPROCS=%d; load average %s; %s\n\n",
		cfg.Records, cfg.Days, cfg.FetchBatch, max(cfg.RecordsPerMessage, 1), window, memLimitText(), runtime.GOMAXPROCS(0), procstat.LoadAvg(), time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintln(w, "| engine | records/s (publish -> lake committed) | elapsed | publish done | process CPU | records per CPU-second | peak RSS | partitions | files/partition before -> after compaction | compaction | lake size |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		p := max(r.Partitions, 1)
		fmt.Fprintf(w, "| %s | %.0f | %s | %s | %s | %.0f | %d MB | %d | %.1f -> %.1f | %s | %.1f MB |\n", r.Engine, r.RecordsPerSec,
			r.Elapsed.Round(time.Millisecond), r.PublishElapsed.Round(time.Millisecond), r.CPU.Round(time.Millisecond), r.RecordsPerCPU, r.PeakRSS>>20, r.Partitions,
			float64(r.FilesBefore)/float64(p), float64(r.FilesAfter)/float64(p), r.CompactElapsed.Round(time.Millisecond), float64(r.LakeBytes)/(1<<20))
	}
	fmt.Fprintln(w, "\n| engine | query | rows | time |\n|---|---|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | `%s` | %d | %s |\n", r.Engine, r.CountSQL, r.CountRows, r.CountElapsed.Round(time.Millisecond))
		fmt.Fprintf(w, "| %s | top 10 channels by view growth (`%s`) | 10 | %s |\n", r.Engine, r.TopSQL, r.TopElapsed.Round(time.Millisecond))
	}
}
