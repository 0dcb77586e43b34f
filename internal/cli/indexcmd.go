package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/pipeline"
)

func indexCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "index", Short: "Search index utilities"}
	cmd.AddCommand(indexRebuildCmd(g))
	return cmd
}

func indexRebuildCmd(g *globals) *cobra.Command {
	var o pipeline.RebuildOptions
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the search index from the lake (stop the server first)",
		Long: `Rebuilds <data>/index from the lake: the latest snapshot of every video and
channel, with its statistics, and every event, read through DuckDB and applied
to a new index, written as a full snapshot whose checkpoint is the lake's, so
the server replays the stream from there when it starts. The old index is
replaced only once the new one is complete. The server must not be running.`,
		Example: `  tubelake index rebuild --data ./tubelake-data
  tubelake index rebuild --data ./tubelake-data --lake 's3://bucket?region=eu-west-1&prefix=tubelake/lake/'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Logger = g.logger()
			o.Progress = func(format string, args ...any) { fmt.Fprintf(g.stderr, format+"\n", args...) }
			st, err := pipeline.RebuildIndex(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "index rebuilt in %s: %d videos searchable (%d video, %d channel and %d event records applied), snapshot %.1f MiB, checkpoint %d\n",
				time.Duration(st.Seconds*float64(time.Second)).Round(time.Millisecond), st.Docs, st.Videos, st.Channels, st.Events, float64(st.Bytes)/(1<<20), st.Checkpoint)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.DataDir, "data", "./tubelake-data", "data directory (stream/, lake/, index/)")
	cmd.Flags().StringVar(&o.LakeURL, "lake", "", "lake location (default <data>/lake): a directory, file:// or s3://... (mirrored into --cache first)")
	cmd.Flags().StringVar(&o.Cache, "cache", "", "local mirror of an object-store lake (default <data>/lake-mirror)")
	return cmd
}
