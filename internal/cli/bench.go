package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tubelake/tubelake/internal/api"
	"github.com/tubelake/tubelake/internal/index"
	"github.com/tubelake/tubelake/internal/searchbench"
)

func benchCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks that print a table"}
	cmd.AddCommand(benchSearchCmd(g))
	return cmd
}

func benchSearchCmd(g *globals) *cobra.Command {
	var (
		cfg      searchbench.Config
		anchors  string
		out      string
		keepWork bool
		seed     uint64
	)
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Benchmark the search index against a brute-force oracle, Bleve, SQLite FTS5 and DuckDB",
		Long: `Generates a deterministic corpus of YouTube-like videos whose titles are learned
from the real titles in --data-dir (../shared/data), indexes it with tubelake's
search index, and measures indexing (docs/s, memory, disk), query latency per
query kind (sort=views, limit=20), statistics updates per second under a
concurrent query loop, and the same queries on anchor engines over the first
--anchor-docs docs. Every answer is checked against a brute-force scan; the
command exits non-zero if any differs.

Prints a markdown report on stdout (progress on stderr) and, with --out DIR,
writes DIR/search.json and DIR/search.md.`,
		Example: "  tubelake bench search --docs 1000000 --anchor-docs 1000000 --out bench-out",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg.Seed = seed
			cfg.Anchors = nil
			for _, a := range strings.Split(anchors, ",") {
				if a = strings.TrimSpace(a); a != "" && a != "none" {
					cfg.Anchors = append(cfg.Anchors, a)
				}
			}
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return fmt.Errorf("bench search: --out: %w", err)
				}
			}
			if cfg.WorkDir == "" {
				dir, err := os.MkdirTemp("", "tubelake-bench-search-")
				if err != nil {
					return fmt.Errorf("bench search: %w", err)
				}
				cfg.WorkDir = dir
				if !keepWork {
					defer os.RemoveAll(dir)
				}
			}
			cfg.Progress = g.stderr
			cfg.Logger = g.logger()
			// The API phase serves the benchmark's index with the same
			// handler as tubelake serve (no response cache, no keys).
			cfg.Handler = func(ix *index.Index) (http.Handler, error) {
				return api.New(api.Config{Index: ix, Logger: g.logger()})
			}
			rep, err := searchbench.Run(ctx, cfg)
			if rep == nil {
				return err
			}
			rep.Command = commandLine(cmd)
			rep.WriteMarkdown(g.stdout)
			if out != "" {
				if werr := writeReport(out, rep); werr != nil {
					return errors.Join(err, werr)
				}
			}
			if errors.Is(err, searchbench.ErrMismatch) {
				return fmt.Errorf("bench search: %d answers differ from the brute-force oracle: %w", rep.Mismatches(), err)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Docs, "docs", 1_000_000, "videos in the generated corpus (indexed by tubelake)")
	f.IntVar(&cfg.AnchorDocs, "anchor-docs", 1_000_000, "the anchors index the first N docs (capped at --docs)")
	f.IntVar(&cfg.PerKind, "queries", 50, "queries per kind (common, rare, ko-1-2, english, japanese, multi-term, no-match)")
	f.IntVar(&cfg.Reps, "reps", 20, "timed repetitions of each query on tubelake, after one warm-up")
	f.IntVar(&cfg.AnchorReps, "anchor-reps", 3, "timed repetitions of each query on an anchor, after one warm-up")
	f.DurationVar(&cfg.AnchorBudget, "anchor-budget", 4*time.Minute, "time each anchor may spend on queries (round-robin over the kinds; 0 = no limit)")
	f.StringVar(&anchors, "anchors", strings.Join(searchbench.BuiltAnchors(), ","), "anchors to run: scan, bleve, sqlite, duckdb (comma-separated; none for none; bleve and sqlite need a build with -tags anchors)")
	f.IntVar(&cfg.Updates, "updates", 200_000, "view-count-only snapshots applied while queries run")
	f.IntVar(&cfg.Batch, "batch", 10_000, "records per Apply while indexing")
	f.IntVar(&cfg.APIClients, "api-clients", 2, "concurrent clients of the API phase (the queries through GET /v1/videos/search)")
	f.Uint64Var(&seed, "seed", 1, "corpus seed")
	f.StringVar(&cfg.DataDir, "data-dir", filepath.Join("..", "shared", "data"), "real YouTube data the corpus model learns titles from (see its README.md)")
	f.StringVar(&out, "out", "", "write search.json and search.md into this directory")
	f.StringVar(&cfg.WorkDir, "work-dir", "", "directory for the index snapshot and anchor files (default: a temporary directory, removed)")
	f.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the indexing phase to this file")
	f.StringVar(&cfg.UpdatesCPUProfile, "updates-cpuprofile", "", "write a CPU profile of the statistics-update phase to this file")
	f.BoolVar(&cfg.Reopen, "reopen", true, "at the end, flush the final state, reopen the index from its snapshot (as a restarted server does), time it and check the queries again")
	f.StringVar(&cfg.ReopenCPUProfile, "reopen-cpuprofile", "", "write a CPU profile of opening the snapshot (the --reopen phase) to this file")
	f.StringVar(&cfg.MemProfile, "memprofile", "", "write a heap profile taken right after indexing to this file")
	f.StringVar(&cfg.QueriesCPUProfile, "queries-cpuprofile", "", "write a CPU profile of the timed query repetitions to this file (samples labelled kind=<query kind>)")
	f.BoolVar(&keepWork, "keep-work", false, "keep the temporary work directory")
	return cmd
}

// commandLine reconstructs the command with the flags that were set.
func commandLine(cmd *cobra.Command) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		parts = append(parts, "--"+fl.Name+" "+fl.Value.String())
	})
	return strings.Join(parts, " ")
}

func writeReport(dir string, rep *searchbench.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("bench search: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "search.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench search: %w", err)
	}
	var md strings.Builder
	rep.WriteMarkdown(&md)
	if err := os.WriteFile(filepath.Join(dir, "search.md"), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("bench search: %w", err)
	}
	return nil
}
