package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tubelake/tubelake/internal/importer"
	"github.com/tubelake/tubelake/internal/pipeline"
	"github.com/tubelake/tubelake/internal/yt"
)

// openImportNode opens the node like nodeFlags.open, packing perMsg records
// per JetStream message (bulk imports).
func openImportNode(ctx context.Context, nf *nodeFlags, log *slog.Logger, perMsg int) (*pipeline.Node, error) {
	return pipeline.Open(ctx, pipeline.Config{DataDir: nf.data, StreamURL: nf.streamURL, StreamListen: nf.streamListen, Logger: log,
		StreamRecordsPerMessage: perMsg})
}

// importSQL runs `tubelake import --from mysql://|postgres://`.
func importSQL(cmd *cobra.Command, g *globals, nf *nodeFlags, perMsg int, onError importer.OnError, observed string, src importer.SQLSource, mapping string) error {
	ctx := cmd.Context()
	if (src.Table == "") == (src.Query == "") {
		return fmt.Errorf("--from needs exactly one of --table or --query")
	}
	if mapping == "" {
		return fmt.Errorf("--from needs --map (e.g. --map id=video_id,title=title,view_count=views)")
	}
	m, err := importer.ParseMapping(mapping)
	if err != nil {
		return err
	}
	src.Mapping = m
	obs := time.Now().UTC()
	if observed != "" {
		if obs, err = time.Parse(time.RFC3339, observed); err != nil {
			return fmt.Errorf("--observed-at: %w", err)
		}
	}
	log := g.logger()
	n, err := openImportNode(ctx, nf, log, perMsg)
	if err != nil {
		return err
	}
	defer n.Close()
	sinks := startSinks(ctx, n)
	var bar *progressbar.ProgressBar
	newBar := func(total int64) {
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(g.stderr), progressbar.OptionSetDescription("rows"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionOnCompletion(func() { fmt.Fprintln(g.stderr) }))
	}
	opts := importer.Options{OnError: onError, ObservedAt: obs, Logger: log, Progress: func(rows int64) {
		if bar != nil {
			_ = bar.Set64(rows)
		}
	}}
	st, importErr := importer.ReadSQL(ctx, src, opts, newBar, func(ctx context.Context, batch []yt.Record) error {
		return n.Publish(ctx, batch...)
	})
	if bar != nil {
		_ = bar.Finish()
	}
	reportSkipped(g.stderr, st.Errors, st.Skipped, "rows")
	if err := sinks.drain(ctx); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "imported %d records (%d rows skipped) from the database into %s\n", st.Records, st.Skipped, n.DataDir())
	return importErr
}
