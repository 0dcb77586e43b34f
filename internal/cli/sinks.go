package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tubelake/tubelake/internal/importer"
	"github.com/tubelake/tubelake/internal/pipeline"
)

// drainTimeout bounds how long a producing command waits for the sinks to
// make everything it published durable.
const drainTimeout = 10 * time.Minute

// sinkRun is a node's sinks running in the background of a producing command
// (import, collect). They run on a context detached from the command's, so a
// Ctrl-C stops producing but still lets the sinks commit what was published.
type sinkRun struct {
	n    *pipeline.Node
	stop context.CancelFunc
	errc chan error
}

func startSinks(ctx context.Context, n *pipeline.Node) *sinkRun {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	r := &sinkRun{n: n, stop: stop, errc: make(chan error, 1)}
	go func() { r.errc <- n.Run(runCtx) }()
	return r
}

// drain waits until both sinks consumed everything published so far, then
// stops them. It returns a sink failure first, then a wait failure.
func (r *sinkRun) drain(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	werr := r.n.WaitIdle(wctx)
	cancel()
	r.stop()
	if err := <-r.errc; err != nil {
		return err
	}
	if werr != nil {
		return fmt.Errorf("waiting for the sinks: %w", werr)
	}
	return nil
}

// reportSkipped prints the skipped inputs an import kept (at most
// importer.MaxErrors) and how many more there were; unit names them
// ("lines in FILE", "rows").
func reportSkipped(w io.Writer, errs []importer.LineError, skipped int64, unit string) {
	for _, e := range errs {
		fmt.Fprintf(w, "skipped %s\n", e.Error())
	}
	if more := skipped - int64(len(errs)); more > 0 {
		fmt.Fprintf(w, "... and %d more skipped %s\n", more, unit)
	}
}
