package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// CheckpointPrefix is where commit manifests live, beside the tables.
// Readers never see them: they read <table>/dt=*/*.parquet only.
const CheckpointPrefix = "_tubelake/commits/"

// Checkpoint is a consumer's commit manifest: the last stream sequence whose
// records are durable in the lake. It is written after the batch's files
// are committed, so it never claims more than the lake holds; on start the
// consumer resumes right after it, so a crash replays exactly the tail that
// was not yet recorded (whose files, if already published, are skipped or
// deduplicated by record_id).
type Checkpoint struct {
	Consumer    string    `json:"consumer"`
	Engine      string    `json:"engine"`   // stream engine: embedded, nats, kafka
	Stream      string    `json:"stream"`   // stream identity (URL without credentials, or "embedded")
	Seq         uint64    `json:"last_seq"` // last stream sequence durable in the lake
	Records     uint64    `json:"records"`  // records committed under this consumer so far
	CommittedAt time.Time `json:"committed_at"`
}

var consumerRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func checkpointKey(consumer string) (string, error) {
	if !consumerRe.MatchString(consumer) {
		return "", fmt.Errorf("lake: bad consumer name %q", consumer)
	}
	return CheckpointPrefix + consumer + ".json", nil
}

// ReadCheckpoint returns the consumer's manifest; ok is false when there is none.
func (l *Lake) ReadCheckpoint(ctx context.Context, consumer string) (cp Checkpoint, ok bool, err error) {
	key, err := checkpointKey(consumer)
	if err != nil {
		return cp, false, err
	}
	b, err := l.bucket.ReadAll(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return cp, false, nil
	}
	if err != nil {
		return cp, false, fmt.Errorf("lake: read checkpoint %s: %w", key, err)
	}
	if err := json.Unmarshal(b, &cp); err != nil {
		return cp, false, fmt.Errorf("lake: checkpoint %s is corrupt: %w", key, err)
	}
	return cp, true, nil
}

// WriteCheckpoint atomically replaces the consumer's manifest (temp +
// fsync + rename on disk, a single PUT on object stores). Call it only
// after the files of every batch up to cp.Seq are committed.
func (l *Lake) WriteCheckpoint(ctx context.Context, cp Checkpoint) error {
	key, err := checkpointKey(cp.Consumer)
	if err != nil {
		return err
	}
	if cp.CommittedAt.IsZero() {
		cp.CommittedAt = time.Now().UTC()
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("lake: checkpoint: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var osFile *os.File
	w, err := l.bucket.NewWriter(wctx, key, &blob.WriterOptions{
		ContentType: "application/json",
		BeforeWrite: func(as func(any) bool) error {
			as(&osFile)
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("lake: checkpoint %s: %w", key, err)
	}
	if _, err := w.Write(b); err != nil {
		cancel()
		_ = w.Close()
		return fmt.Errorf("lake: checkpoint %s: %w", key, err)
	}
	if osFile != nil {
		if err := osFile.Sync(); err != nil {
			cancel()
			_ = w.Close()
			return fmt.Errorf("lake: checkpoint %s: fsync: %w", key, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("lake: checkpoint %s: %w", key, err)
	}
	return l.syncDirs(key)
}
