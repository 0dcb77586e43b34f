package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

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
	return cmd
}
