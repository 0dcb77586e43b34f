package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/importer"
	"github.com/tubelake/tubelake/internal/yt"
)

func importCmd(g *globals) *cobra.Command {
	var nf nodeFlags
	var onError, observed string
	var from, table, query, mapping string
	var perMsg int
	cmd := &cobra.Command{
		Use:   "import FILE... | import --from mysql://...|postgres://... --table T --map id=COL,...",
		Short: "Import videos from JSONL (videos.list items), Kaggle trending CSV or a MySQL/PostgreSQL table through the stream into the lake and index",
		Example: `  tubelake import videos.jsonl trending.csv.gz
  tubelake import --from 'mysql://user:pass@127.0.0.1:3306/crawler' --table videos \
      --map id=video_id,title=title,channel_id=channel_id,view_count=views,published_at=published_at,fetched_at=crawled_at
  tubelake import --from 'postgres://user:pass@127.0.0.1:5432/crawler?sslmode=disable' \
      --query 'SELECT * FROM videos WHERE crawled_at > now() - interval '"'"'1 day'"'"'' --map id=video_id,title=title`,
		Args: func(cmd *cobra.Command, args []string) error {
			if from != "" {
				if len(args) > 0 {
					return fmt.Errorf("give either files or --from, not both")
				}
				return nil
			}
			return cobra.MinimumNArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, files []string) error {
			ctx := cmd.Context()
			if onError != "skip" && onError != "fail" {
				return fmt.Errorf("--on-error: want skip or fail, got %q", onError)
			}
			if from != "" {
				return importSQL(cmd, g, &nf, perMsg, importer.OnError(onError), observed, importer.SQLSource{URL: from, Table: table, Query: query}, mapping)
			}
			var obs time.Time
			if observed != "" {
				t, err := time.Parse(time.RFC3339, observed)
				if err != nil {
					return fmt.Errorf("--observed-at: %w", err)
				}
				obs = t
			}
			infos := make([]os.FileInfo, len(files))
			for i, f := range files {
				fi, err := os.Stat(f)
				if err != nil {
					return err
				}
				infos[i] = fi
			}
			log := g.logger()
			n, err := openImportNode(ctx, &nf, log, perMsg)
			if err != nil {
				return err
			}
			defer n.Close()
			sinks := startSinks(ctx, n)
			var total importer.Stats
			var importErr error
			for i, f := range files {
				st := infos[i]
				bar := progressbar.NewOptions64(st.Size(), progressbar.OptionSetWriter(g.stderr), progressbar.OptionShowBytes(true),
					progressbar.OptionSetDescription(f), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionShowCount(),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(g.stderr) }))
				opts := importer.Options{OnError: importer.OnError(onError), ObservedAt: obs, Logger: log,
					Progress: func(b int64) { _ = bar.Set64(b) }}
				if opts.ObservedAt.IsZero() {
					opts.ObservedAt = st.ModTime()
				}
				s, err := importer.ReadFile(ctx, f, opts, func(ctx context.Context, batch []yt.Record) error {
					return n.Publish(ctx, batch...)
				})
				_ = bar.Finish()
				total.Records += s.Records
				total.Skipped += s.Skipped
				reportSkipped(g.stderr, s.Errors, s.Skipped, "lines in "+f)
				fmt.Fprintf(g.stdout, "%s: format %s, %d records published, %d lines skipped\n", f, s.Format, s.Records, s.Skipped)
				if err != nil {
					importErr = err
					break
				}
			}
			// Let both sinks make everything durable before exiting.
			if err := sinks.drain(ctx); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "imported %d records (%d skipped) into %s\n", total.Records, total.Skipped, n.DataDir())
			return importErr
		},
	}
	nf.register(cmd)
	cmd.Flags().StringVar(&onError, "on-error", "skip", "what to do with a malformed line: skip (report it and go on) or fail (stop at it)")
	cmd.Flags().StringVar(&observed, "observed-at", "", "observation time for records that carry none (default: the file's modification time; for --from, the import's start), RFC 3339")
	cmd.Flags().IntVar(&perMsg, "records-per-message", 100, "records packed into one JetStream message (1: one message per record); a re-import of the same input produces the same messages, which JetStream deduplicates")
	cmd.Flags().StringVar(&from, "from", "", "import from a database instead of files: mysql://user:pass@host:port/db or postgres://user:pass@host:port/db[?sslmode=disable]")
	cmd.Flags().StringVar(&table, "table", "", "with --from: the table to read")
	cmd.Flags().StringVar(&query, "query", "", "with --from: a SELECT whose result columns are the mapped names (instead of --table)")
	cmd.Flags().StringVar(&mapping, "map", "", "with --from: tubelake field=source column pairs, comma separated; id (the YouTube video id) is required; fields: "+strings.Join(importer.SQLFields, ", "))
	return cmd
}
