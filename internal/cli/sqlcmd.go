package cli

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/lake"
	"github.com/tubelake/tubelake/internal/lakesql"
)

func sqlCmd(g *globals) *cobra.Command {
	var data, format, lakeURL, cache string
	cmd := &cobra.Command{
		Use:   `sql "SELECT ..."`,
		Short: "Query the lake with embedded DuckDB (views: videos, video_history, video_stats, channels, channel_history, channel_stats, events)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case "table", "csv", "json":
			default:
				return fmt.Errorf("--format: want table, csv or json, got %q", format)
			}
			if lakeURL == "" {
				lakeURL = filepath.Join(data, "lake")
			}
			if cache == "" {
				cache = filepath.Join(data, "lake-mirror")
			}
			db, st, err := lakesql.OpenURL(cmd.Context(), lakeURL, cache)
			if err != nil {
				return err
			}
			if lakesql.IsRemote(lakeURL) {
				fmt.Fprintf(g.stderr, "mirrored %d files (%d new, %d bytes; %d removed) into %s\n", st.Files, st.Downloaded, st.Bytes, st.Removed, cache)
			}
			defer db.Close()
			res, err := db.Query(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return res.Write(g.stdout, format)
		},
	}
	cmd.Flags().StringVar(&data, "data", "./tubelake-data", "data directory")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, csv, json")
	cmd.Flags().StringVar(&lakeURL, "lake", "", "lake location (default <data>/lake): a directory, file:// or s3://bucket?region=R[&endpoint=URL&use_path_style=true] (an object-store lake is mirrored into --cache first)")
	cmd.Flags().StringVar(&cache, "cache", "", "local mirror of an object-store lake (default <data>/lake-mirror)")
	return cmd
}

func lakeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "lake", Short: "Lake utilities"}
	var engine, location string
	ddl := &cobra.Command{
		Use:   "ddl",
		Short: "Print CREATE EXTERNAL TABLE statements for Athena or Trino over the lake",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := lakesql.DDL(engine, location)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, s)
			return nil
		},
	}
	ddl.Flags().StringVar(&engine, "engine", "athena", "athena or trino")
	ddl.Flags().StringVar(&location, "location", "s3://my-bucket/tubelake/lake", "lake root location")
	cmd.AddCommand(ddl)
	cmd.AddCommand(lakeCompactCmd(g))
	return cmd
}

func lakeCompactCmd(g *globals) *cobra.Command {
	var data, lakeURL, table, from, to string
	var targetMB int64
	cmd := &cobra.Command{
		Use:   "compact",
		Short: "Merge the small files of each partition into target-size files (safe while the sinks write and readers read)",
		Example: `  tubelake lake compact --data ./tubelake-data
  tubelake lake compact --lake 's3://bucket?region=eu-west-1&prefix=tubelake/lake/' --table video_stats --from 2026-11-01 --to 2026-11-30`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if lakeURL == "" {
				lakeURL = filepath.Join(data, "lake")
			}
			if targetMB <= 0 {
				return fmt.Errorf("--target-mb must be positive")
			}
			l, err := lake.Open(ctx, lakeURL, lake.Options{Logger: g.logger()})
			if err != nil {
				return err
			}
			defer l.Close()
			tables := lake.Tables()
			if table != "" {
				if !slices.Contains(tables, table) {
					return fmt.Errorf("--table: unknown table %q (tables: %s)", table, strings.Join(tables, ", "))
				}
				tables = []string{table}
			}
			var total lake.CompactStats
			parts := 0
			start := time.Now()
			for _, t := range tables {
				dts, err := l.Partitions(ctx, t)
				if err != nil {
					return err
				}
				for _, dt := range dts {
					if (from != "" && dt < from) || (to != "" && dt > to) {
						continue
					}
					st, err := l.Compact(ctx, t, dt, targetMB<<20)
					if err != nil {
						return fmt.Errorf("compact %s/dt=%s: %w", t, dt, err)
					}
					parts++
					if st.InputFiles > 0 {
						fmt.Fprintf(g.stderr, "%s/dt=%s: %d files -> %d (%d rows, %d duplicate copies dropped)\n", t, dt, st.InputFiles, st.OutputFiles, st.OutputRows, st.InputRows-st.OutputRows)
					}
					total.InputFiles += st.InputFiles
					total.OutputFiles += st.OutputFiles
					total.InputBytes += st.InputBytes
					total.OutputBytes += st.OutputBytes
				}
			}
			fmt.Fprintf(g.stdout, "compacted %d partitions in %s: %d files -> %d (%.1f MB -> %.1f MB)\n", parts, time.Since(start).Round(time.Millisecond),
				total.InputFiles, total.OutputFiles, float64(total.InputBytes)/(1<<20), float64(total.OutputBytes)/(1<<20))
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "./tubelake-data", "data directory")
	cmd.Flags().StringVar(&lakeURL, "lake", "", "lake location (default <data>/lake): a directory, file:// or s3://bucket?region=...")
	cmd.Flags().StringVar(&table, "table", "", "only this table (default: all)")
	cmd.Flags().StringVar(&from, "from", "", "only partitions with dt >= this date (YYYY-MM-DD)")
	cmd.Flags().StringVar(&to, "to", "", "only partitions with dt <= this date (YYYY-MM-DD)")
	cmd.Flags().Int64Var(&targetMB, "target-mb", lake.DefaultTargetBytes>>20, "target file size in MB")
	return cmd
}
